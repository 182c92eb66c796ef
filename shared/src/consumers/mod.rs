//! The queue consumers: the lifecycle worker and the outgoing events' dispatcher.

pub mod dispatcher;
pub mod worker;
