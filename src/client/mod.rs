//! The STOMP session state machine, sans-IO (to be written).
