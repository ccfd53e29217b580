//! Resume addresses: how a signal reaches a node that waits for one (`core.wait` in `signal`
//! mode, or a node of your own calling [`Ctx::wait_for_signal`](crate::Ctx::wait_for_signal))
//! from outside, over the HTTP trigger.
//!
//! Every execution gets a random key when it is created, kept in its state. The token of node
//! `N`'s resume address is the HMAC-SHA256 of the execution id and `N` under that key, the first
//! 128 bits in hex: unguessable without the key, different for every execution and every node,
//! and checked without anything stored per wait. A workflow reads a node's address with the
//! expression `resume_url("N")` (a node before the wait sends it to whoever gives the signal);
//! a node with [`Ctx::resume_url`](crate::Ctx::resume_url). The address is
//!
//! ```text
//! {HETUMIND_PUBLIC_URL}/resume?execution_id={id}&node={N}&token={token}
//! ```
//!
//! (a path alone when `HETUMIND_PUBLIC_URL`, the function's public base URL, is not set).

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The path of resume addresses, under the function's base URL.
pub const PATH: &str = "/resume";

/// The characters a query parameter's value keeps as they are.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// A new execution's resume key: 244 random bits, in hex.
#[must_use]
pub fn new_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The token of node `node`'s resume address in execution `execution_id`, whose key is `key`.
#[must_use]
pub fn token(key: &str, execution_id: &str, node: &str) -> String {
    // HMAC takes a key of any length: this cannot fail (and would make no token if it did).
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    // Length-prefixed, so that no two pairs of names run together into the same bytes.
    mac.update(&(execution_id.len() as u64).to_be_bytes());
    mac.update(execution_id.as_bytes());
    mac.update(node.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Whether `token` is node `node`'s in execution `execution_id` (compared in constant time).
#[must_use]
pub fn verify(key: &str, execution_id: &str, node: &str, token: &str) -> bool {
    let expected = self::token(key, execution_id, node);
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
}

/// Node `node`'s resume address in execution `execution_id`, under `base` (the function's
/// public URL, without a trailing `/`; empty for a path alone).
#[must_use]
pub fn address(base: &str, execution_id: &str, node: &str, token: &str) -> String {
    format!(
        "{}{PATH}?execution_id={}&node={}&token={token}",
        base.trim_end_matches('/'),
        utf8_percent_encode(execution_id, QUERY_VALUE),
        utf8_percent_encode(node, QUERY_VALUE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_by_key_execution_and_node_and_verify() {
        let key = new_key();
        assert_eq!(key.len(), 64);
        let a = token(&key, "exec-1", "Approval");
        assert_eq!(a.len(), 32);
        assert_eq!(a, token(&key, "exec-1", "Approval"));
        assert_ne!(a, token(&key, "exec-2", "Approval"));
        assert_ne!(a, token(&key, "exec-1", "Approval 2"));
        assert_ne!(a, token(&new_key(), "exec-1", "Approval"));
        assert!(verify(&key, "exec-1", "Approval", &a));
        assert!(!verify(&key, "exec-1", "Approval", &a[..31]));
        assert!(!verify(&key, "exec-1", "Other", &a));
    }

    #[test]
    fn addresses_encode_names() {
        assert_eq!(
            address("https://fn.example/", "e-1", "Manager approval", "ab"),
            "https://fn.example/resume?execution_id=e-1&node=Manager%20approval&token=ab"
        );
        assert_eq!(
            address("", "e", "a&b=c", "t"),
            "/resume?execution_id=e&node=a%26b%3Dc&token=t"
        );
    }
}
