//! The JSON encoding of the hub protocol: each message one JSON object
//! followed by `0x1E`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    message_type, ClientMessage, InvalidMessage, Outcome, ServerMessage, RECORD_SEPARATOR,
};

/// Renders a server message as a JSON record, separator included.
pub(super) fn render(message: &ServerMessage) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Wire<'a> {
        Handshake {
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
        },
        Completion {
            #[serde(rename = "type")]
            message_type: u64,
            #[serde(rename = "invocationId")]
            invocation_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            result: Option<&'a Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
        },
        Close {
            #[serde(rename = "type")]
            message_type: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
            #[serde(rename = "allowReconnect", skip_serializing_if = "std::ops::Not::not")]
            allow_reconnect: bool,
        },
        Numbered {
            #[serde(rename = "type")]
            message_type: u64,
            #[serde(rename = "sequenceId", skip_serializing_if = "Option::is_none")]
            sequence_id: Option<u64>,
        },
    }
    let wire = match message {
        ServerMessage::Handshake { error } => Wire::Handshake {
            error: error.as_deref(),
        },
        ServerMessage::Invocation => {
            unreachable!("events are rendered by invocation_frame, straight from the payload")
        }
        ServerMessage::Completion {
            invocation_id,
            outcome,
        } => {
            let (result, error) = match outcome {
                Outcome::Value(v) => (Some(v), None),
                Outcome::Error(e) => (None, Some(e.as_str())),
            };
            Wire::Completion {
                message_type: message_type::COMPLETION,
                invocation_id,
                result,
                error,
            }
        }
        ServerMessage::Ping => Wire::Numbered {
            message_type: message_type::PING,
            sequence_id: None,
        },
        ServerMessage::Close {
            error,
            allow_reconnect,
        } => Wire::Close {
            message_type: message_type::CLOSE,
            error: error.as_deref(),
            allow_reconnect: *allow_reconnect,
        },
        ServerMessage::Ack { sequence_id } => Wire::Numbered {
            message_type: message_type::ACK,
            sequence_id: Some(*sequence_id),
        },
        ServerMessage::Sequence { sequence_id } => Wire::Numbered {
            message_type: message_type::SEQUENCE,
            sequence_id: Some(*sequence_id),
        },
    };
    let mut record = serde_json::to_vec(&wire).expect("JSON values and strings always serialize");
    record.push(RECORD_SEPARATOR);
    record
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "type")]
    message_type: Option<Value>,
    #[serde(rename = "invocationId")]
    invocation_id: Option<Value>,
    target: Option<Value>,
    arguments: Option<Value>,
    #[serde(rename = "streamIds")]
    stream_ids: Option<Value>,
    error: Option<Value>,
    #[serde(rename = "sequenceId")]
    sequence_id: Option<Value>,
}

fn optional_string(field: &str, value: Option<Value>) -> Result<Option<String>, InvalidMessage> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(InvalidMessage(format!("'{field}' must be a string"))),
    }
}

fn sequence_id(value: Option<Value>) -> Result<u64, InvalidMessage> {
    value
        .as_ref()
        .and_then(Value::as_u64)
        .ok_or_else(|| InvalidMessage("'sequenceId' must be a non-negative integer".into()))
}

/// Parses one record (without its `0x1E`).
pub(super) fn parse(record: &[u8]) -> Result<ClientMessage, InvalidMessage> {
    let raw: RawMessage = serde_json::from_slice(record)
        .map_err(|e| InvalidMessage(format!("not a JSON object ({e})")))?;
    let message_type = match raw.message_type {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| InvalidMessage("'type' must be a positive integer".into()))?,
        Some(_) => return Err(InvalidMessage("'type' must be an integer".into())),
        None => return Err(InvalidMessage("missing 'type'".into())),
    };
    match message_type {
        message_type::INVOCATION => {
            let invocation_id = optional_string("invocationId", raw.invocation_id)?;
            let target = optional_string("target", raw.target)?
                .ok_or_else(|| InvalidMessage("missing 'target'".into()))?;
            let arguments = match raw.arguments {
                Some(Value::Array(args)) => args,
                Some(_) => return Err(InvalidMessage("'arguments' must be an array".into())),
                None => return Err(InvalidMessage("missing 'arguments'".into())),
            };
            let has_streams = match raw.stream_ids {
                None | Some(Value::Null) => false,
                Some(Value::Array(ids)) => !ids.is_empty(),
                Some(_) => return Err(InvalidMessage("'streamIds' must be an array".into())),
            };
            Ok(ClientMessage::Invocation {
                invocation_id,
                target,
                arguments,
                has_streams,
            })
        }
        message_type::STREAM_INVOCATION => {
            let invocation_id = optional_string("invocationId", raw.invocation_id)?
                .ok_or_else(|| InvalidMessage("missing 'invocationId'".into()))?;
            Ok(ClientMessage::StreamInvocation { invocation_id })
        }
        message_type::PING => Ok(ClientMessage::Ping),
        message_type::CLOSE => Ok(ClientMessage::Close {
            error: optional_string("error", raw.error)?,
        }),
        message_type::ACK => Ok(ClientMessage::Ack {
            sequence_id: sequence_id(raw.sequence_id)?,
        }),
        message_type::SEQUENCE => Ok(ClientMessage::Sequence {
            sequence_id: sequence_id(raw.sequence_id)?,
        }),
        message_type::STREAM_ITEM | message_type::COMPLETION | message_type::CANCEL_INVOCATION => {
            Ok(ClientMessage::Ignored { message_type })
        }
        other => Err(InvalidMessage(format!("unknown message type {other}"))),
    }
}
