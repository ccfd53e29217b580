//! The AWS SDK configuration the S3 store and the Step Functions hand-off share: the standard
//! environment (credentials, region, `AWS_ENDPOINT_URL_*`), with timeouts that fit inside a
//! Lambda invocation. Loaded on first use, so nothing touches the network during start-up.

use std::time::Duration;

/// The shared configuration, from the environment.
pub(crate) async fn load() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(15))
                .build(),
        )
        .load()
        .await
}
