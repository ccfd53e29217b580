//! `core.crypto`.

use base64::Engine as _;
use hetumind::prelude::*;
use hmac::digest::Digest;
use hmac::digest::block_api::EagerHash;
use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::json::{item_index, read_str, write};
use crate::support::params::{ForOperation, schema_of_params};
use crate::support::path::FieldPath;

/// The parameters of `core.crypto`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CryptoParams {
    /// `hash` (a digest of a string field), `hmac` (a keyed digest of a string field) or `uuid`
    /// (a new random UUID).
    operation: Operation,
    /// `hash` and `hmac`: the field holding the string to digest (its UTF-8 bytes).
    #[serde(default)]
    field: Option<FieldPath>,
    /// Where the result goes. Default for `hash` and `hmac`: `field` itself. Required by
    /// `uuid`.
    #[serde(default)]
    output_field: Option<FieldPath>,
    /// `hash` and `hmac`: `md5`, `sha1`, `sha256` (the default) or `sha512`.
    #[serde(default)]
    algorithm: Option<Algorithm>,
    /// `hash` and `hmac`: how the digest is written, `hex` (lowercase, the default) or
    /// `base64` (standard alphabet, padded).
    #[serde(default)]
    encoding: Option<Encoding>,
    /// `hmac`: the secret key (its UTF-8 bytes); write `{% secret("name") %}` to keep it out
    /// of the workflow definition.
    #[serde(default)]
    secret: Option<String>,
    /// `uuid`: `v4` (random, the default) or `v7` (time-ordered to the millisecond, from the
    /// engine's clock).
    #[serde(default)]
    version: Option<UuidVersion>,
}

/// What `core.crypto` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Operation {
    /// A digest of a string field.
    Hash,
    /// A keyed digest (HMAC) of a string field.
    Hmac,
    /// A new UUID.
    Uuid,
}

/// A digest algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Algorithm {
    /// MD5 (128 bits; not collision resistant, for checksums only).
    Md5,
    /// SHA-1 (160 bits; not collision resistant).
    Sha1,
    /// SHA-256.
    #[default]
    Sha256,
    /// SHA-512.
    Sha512,
}

/// How a digest is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Encoding {
    /// Lowercase hexadecimal.
    #[default]
    Hex,
    /// Standard base64, padded.
    Base64,
}

/// A UUID version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum UuidVersion {
    /// Random.
    #[default]
    V4,
    /// Unix time in milliseconds, then random bits.
    V7,
}

/// The parameters of `core.crypto`, checked: each operation has what it needs, and nothing it
/// does not use.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "CryptoParams")]
struct CryptoSpec {
    action: Action,
    output: FieldPath,
}

schema_of_params!(CryptoSpec => CryptoParams);

/// What to compute, with what it needs.
#[derive(Clone, Debug)]
enum Action {
    Digest {
        field: FieldPath,
        algorithm: Algorithm,
        encoding: Encoding,
        /// The HMAC key; `None` for a plain hash.
        secret: Option<String>,
    },
    Uuid(UuidVersion),
}

impl TryFrom<CryptoParams> for CryptoSpec {
    type Error = String;

    fn try_from(params: CryptoParams) -> Result<Self, String> {
        let CryptoParams {
            operation,
            field,
            output_field,
            algorithm,
            encoding,
            secret,
            version,
        } = params;
        let op = ForOperation(match operation {
            Operation::Hash => "hash",
            Operation::Hmac => "hmac",
            Operation::Uuid => "uuid",
        });
        if operation == Operation::Uuid {
            op.unused("field", field.as_ref())?;
            op.unused("algorithm", algorithm.as_ref())?;
            op.unused("encoding", encoding.as_ref())?;
            op.unused("secret", secret.as_ref())?;
            return Ok(Self {
                action: Action::Uuid(version.unwrap_or_default()),
                output: op.required("output_field", output_field)?,
            });
        }
        op.unused("version", version.as_ref())?;
        let secret = if operation == Operation::Hmac {
            Some(op.required("secret", secret)?)
        } else {
            op.unused("secret", secret.as_ref())?;
            None
        };
        let field = op.required("field", field)?;
        Ok(Self {
            output: output_field.unwrap_or_else(|| field.clone()),
            action: Action::Digest {
                field,
                algorithm: algorithm.unwrap_or_default(),
                encoding: encoding.unwrap_or_default(),
                secret,
            },
        })
    }
}

/// Hashes a string field (`md5`, `sha1`, `sha256`, `sha512`, written as hex or base64), signs
/// it with an HMAC and a secret, or writes a new UUID (`v4` random, `v7` time-ordered) into a
/// field. The string hashed is the field's UTF-8 text; a missing field or one that is not a
/// string fails the item, naming the field.
#[node(kind = "core.crypto", nonblocking)]
async fn crypto(
    Params(params): Params<CryptoSpec>,
    Item(mut item): Item<Value>,
    ctx: Ctx,
) -> Result<Value, NodeError> {
    let index = item_index(&ctx);
    let result = match &params.action {
        Action::Digest {
            field,
            algorithm,
            encoding,
            secret,
        } => {
            let data = read_str(index, &item, field)?.as_bytes();
            let bytes = match secret {
                None => digest(*algorithm, data),
                Some(secret) => sign(*algorithm, secret.as_bytes(), data)?,
            };
            match encoding {
                Encoding::Hex => hex::encode(bytes),
                Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
            }
        }
        Action::Uuid(UuidVersion::V4) => uuid::Uuid::new_v4().to_string(),
        Action::Uuid(UuidVersion::V7) => {
            let now = ctx.now();
            let seconds = u64::try_from(now.timestamp()).map_err(|_| {
                NodeError::terminal(format!("cannot make a v7 UUID before 1970: {now}"))
            })?;
            let timestamp =
                uuid::Timestamp::from_unix(uuid::NoContext, seconds, now.timestamp_subsec_nanos());
            uuid::Uuid::new_v7(timestamp).to_string()
        }
    };
    write(index, &mut item, &params.output, Value::String(result))?;
    Ok(item)
}

/// The digest of `data`.
fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    fn with<D: Digest>(data: &[u8]) -> Vec<u8> {
        D::digest(data).to_vec()
    }
    match algorithm {
        Algorithm::Md5 => with::<md5::Md5>(data),
        Algorithm::Sha1 => with::<sha1::Sha1>(data),
        Algorithm::Sha256 => with::<sha2::Sha256>(data),
        Algorithm::Sha512 => with::<sha2::Sha512>(data),
    }
}

/// The HMAC of `data` under `key`.
fn sign(algorithm: Algorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, NodeError> {
    fn with<D: EagerHash>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, NodeError>
    where
        Hmac<D>: KeyInit + Mac,
    {
        let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key)
            .map_err(|error| NodeError::terminal(format!("invalid HMAC key: {error}")))?;
        Mac::update(&mut mac, data);
        Ok(mac.finalize().into_bytes().to_vec())
    }
    match algorithm {
        Algorithm::Md5 => with::<md5::Md5>(key, data),
        Algorithm::Sha1 => with::<sha1::Sha1>(key, data),
        Algorithm::Sha256 => with::<sha2::Sha256>(key, data),
        Algorithm::Sha512 => with::<sha2::Sha512>(key, data),
    }
}
