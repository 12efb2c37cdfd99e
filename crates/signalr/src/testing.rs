//! A small application for the engine's own tests: token `token-<user>`
//! (with `-expired` appended: expired), methods `Echo(x)`, `Tag(n)` (sets
//! the connection's tag), `Fail()`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use serde_json::Value;

use crate::{expect_arity, Caller, HubApp, MethodError, Principal};

#[derive(Debug, Default)]
pub(crate) struct TestApp;

/// Per-connection state: a tag a method sets and a predicate reads.
#[derive(Debug, Default)]
pub(crate) struct Tag(pub(crate) AtomicI64);

#[derive(Debug)]
pub(crate) enum Method {
    Echo(Value),
    Tag(i64),
    Fail,
}

impl HubApp for TestApp {
    type State = Tag;
    type Method = Method;

    fn authenticate(&self, token: &str) -> Option<Principal> {
        let rest = token.strip_prefix("token-")?;
        let (user, expired) = match rest.strip_suffix("-expired") {
            Some(user) => (user, true),
            None => (rest, false),
        };
        let expires_at = if expired {
            SystemTime::now() - Duration::from_secs(1)
        } else {
            SystemTime::now() + Duration::from_secs(3600)
        };
        Some(Principal {
            user: user.to_owned(),
            expires_at: Some(expires_at),
        })
    }

    fn parse(&self, target: &str, arguments: Vec<Value>) -> Result<Method, MethodError> {
        match target.to_ascii_lowercase().as_str() {
            "echo" => {
                expect_arity("Echo", &arguments, 1)?;
                Ok(Method::Echo(
                    arguments.into_iter().next().unwrap_or_default(),
                ))
            }
            "tag" => {
                expect_arity("Tag", &arguments, 1)?;
                arguments[0]
                    .as_i64()
                    .map(Method::Tag)
                    .ok_or_else(|| MethodError::BadArguments("Tag expects an integer.".into()))
            }
            "fail" => Ok(Method::Fail),
            _ => Err(MethodError::Unknown(target.to_owned())),
        }
    }

    fn call(
        &self,
        caller: &Caller<'_, Tag>,
        method: Method,
    ) -> BoxFuture<'static, Result<Value, MethodError>> {
        match method {
            Method::Echo(v) => async move { Ok(v) }.boxed(),
            Method::Tag(n) => {
                caller.state.0.store(n, Ordering::Relaxed);
                async { Ok(Value::Null) }.boxed()
            }
            Method::Fail => {
                async { Err(MethodError::Failed("the store is unavailable".into())) }.boxed()
            }
        }
    }
}
