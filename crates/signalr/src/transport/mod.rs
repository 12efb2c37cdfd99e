//! The three transports, one module each. Each binds the connection, takes
//! the connection's queue when it writes, and ends the connection (or, for a
//! stateful WebSocket, detaches it) when the client goes away.

pub(crate) mod long_polling;
pub(crate) mod sse;
pub(crate) mod websockets;
