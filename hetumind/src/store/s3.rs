//! `s3://BUCKET/PREFIX`: the store of a Lambda deployment.
//!
//! Conditional writes are S3's own: `If-None-Match: *` creates, `If-Match: <etag>` updates, and
//! a version is the object's ETag. The endpoint comes from the standard `AWS_ENDPOINT_URL_S3` /
//! `AWS_ENDPOINT_URL` variables; when one is set, path-style addressing is used, as S3-compatible
//! servers need. The client is built on first use, so nothing touches the network (or even
//! reads credentials) during start-up.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::OnceCell;

use super::{Condition, StateStore, StoreError, Stored, Version};
use crate::BoxFuture;

/// A [`StateStore`] in an S3 bucket, under a key prefix.
#[derive(Debug)]
pub struct S3Store {
    bucket: String,
    prefix: String,
    client: OnceCell<Client>,
}

/// How often a write answered `409 ConditionalRequestConflict` (a concurrent conditional write
/// in progress) is tried again before giving up as unavailable.
const CONFLICT_RETRIES: u32 = 5;

/// The longest object key S3 accepts, in bytes.
const MAX_KEY_BYTES: usize = 1024;

impl S3Store {
    /// A store in `bucket` under `prefix` (`""` for the bucket's root).
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into().trim_matches('/').to_owned();
        Self {
            bucket: bucket.into(),
            prefix: if prefix.is_empty() {
                prefix
            } else {
                format!("{prefix}/")
            },
            client: OnceCell::new(),
        }
    }

    /// A store using `client` as configured, instead of one built from the environment on
    /// first use.
    pub fn with_client(
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        client: Client,
    ) -> Self {
        let mut store = Self::new(bucket, prefix);
        store.client = OnceCell::new_with(Some(client));
        store
    }

    /// The store an `s3://BUCKET/PREFIX` URL names (the part after `s3://`).
    pub(super) fn from_url_path(path: &str) -> Result<Self, StoreError> {
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() {
            return Err(StoreError::Other(format!(
                "`s3://{path}`: an S3 store needs a bucket, like `s3://my-bucket/hetumind`"
            )));
        }
        Ok(Self::new(bucket, prefix))
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let shared = crate::aws::load().await;
                let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
                    .iter()
                    .any(|name| std::env::var_os(name).is_some());
                let config = aws_sdk_s3::config::Builder::from(&shared)
                    .force_path_style(custom_endpoint)
                    .build();
                Client::from_conf(config)
            })
            .await
    }

    fn object_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The object key of `key`, refused before any request when S3 could not hold it.
    fn checked_key(&self, key: &str) -> Result<String, StoreError> {
        let object_key = self.object_key(key);
        if object_key.len() > MAX_KEY_BYTES {
            return Err(StoreError::Other(format!(
                "`{}`: the key is {} bytes long, more than the {MAX_KEY_BYTES} S3 allows",
                self.locate(key),
                object_key.len(),
            )));
        }
        Ok(object_key)
    }

    async fn get_object(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        let result = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(self.checked_key(key)?)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) if is_missing_key(&error) => return Ok(None),
            Err(error) => return Err(classify(key, &error)),
        };
        let version = Version(output.e_tag().unwrap_or_default().to_owned());
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| StoreError::Unavailable(format!("reading `{key}`: {error}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Stored { bytes, version }))
    }

    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> Result<Version, StoreError> {
        let object_key = self.checked_key(key)?;
        let mut retries = 0;
        loop {
            let request = self
                .client()
                .await
                .put_object()
                .bucket(&self.bucket)
                .key(&object_key)
                .content_type("application/json")
                .body(ByteStream::from(bytes.clone()));
            let request = match &condition {
                Condition::Create => request.if_none_match("*"),
                Condition::Match(version) => request.if_match(&version.0),
            };
            match request.send().await {
                Ok(output) => return Ok(Version(output.e_tag().unwrap_or_default().to_owned())),
                // A lost race: someone else's write came first.
                Err(error) if status(&error) == Some(412) => {
                    return Err(StoreError::Conflict {
                        key: key.to_owned(),
                    });
                }
                Err(error) if is_missing_key(&error) => {
                    return Err(StoreError::Missing {
                        key: key.to_owned(),
                    });
                }
                // Another conditional write on the key is in flight: try again shortly.
                Err(error) if status(&error) == Some(409) && retries < CONFLICT_RETRIES => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(20 << retries)).await;
                }
                Err(error) => return Err(classify(key, &error)),
            }
        }
    }

    async fn list_objects(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.object_key(prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| classify(prefix, &error))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter_map(|key| key.strip_prefix(&self.prefix))
                    .map(str::to_owned),
            );
        }
        keys.sort_unstable();
        Ok(keys)
    }

    async fn delete_object(&self, key: &str) -> Result<(), StoreError> {
        self.client()
            .await
            .delete_object()
            .bucket(&self.bucket)
            .key(self.checked_key(key)?)
            .send()
            .await
            .map(drop)
            .map_err(|error| classify(key, &error))
    }
}

/// The HTTP status of a failed request, when it got an answer.
fn status<E, R>(error: &SdkError<E, R>) -> Option<u16>
where
    R: HttpStatus,
{
    error.raw_response().map(HttpStatus::status_code)
}

/// Whether a request failed because its key does not exist: a 404 that is not about the
/// bucket (a missing bucket is an error of the store's configuration, not an absent object).
fn is_missing_key<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    status(error) == Some(404)
        && error
            .as_service_error()
            .and_then(ProvideErrorMetadata::code)
            != Some("NoSuchBucket")
}

/// What an HTTP response says its status is.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Retryable (no answer, a timeout, throttling, a server error) or not: every other answer,
/// such as `KeyTooLongError`, `AccessDenied`, `NoSuchBucket` or `InvalidBucketName`, fails the
/// same way again.
fn classify<E, R>(key: &str, error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    let code = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code);
    let message = format!(
        "S3 `{key}`: {}",
        aws_sdk_s3::error::DisplayErrorContext(error)
    );
    let transient = match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => {
            status(error).is_some_and(|status| status >= 500 || status == 429)
                || matches!(code, Some("SlowDown" | "RequestTimeout" | "InternalError"))
        }
    };
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Other(message)
    }
}

impl StateStore for S3Store {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(self.get_object(key))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(self.put_object(key, bytes, condition))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(self.list_objects(prefix))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.delete_object(key))
    }

    fn locate(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.object_key(key))
    }
}
