//! The functional core: a branch's queue as plain data and pure functions.
//!
//! Nothing in here does IO or reads the clock: every operation takes `now` and returns the
//! [`Event`]s it caused, which the shell stores and publishes. That is what lets the same code
//! run the live hub, the property tests and the discrete-event simulation.
//!
//! Start reading at [`queue::Queue`]: it owns the visits, the counters and the waiting lanes;
//! [`routing`] decides who a counter calls next and [`estimate`] how long a new visitor waits.
pub mod branch;
pub mod estimate;
pub mod event;
pub mod queue;
pub mod routing;
pub mod visit;

pub use branch::{
    Branch, BranchError, CasePolicy, Counter, RemoteJoin, RemotePolicy, Role, RoutingPolicy, Service, Staff,
};
pub use estimate::Estimate;
pub use event::{Event, Recorded};
pub use queue::{Closure, CounterAction, IssueRequest, Queue, QueueError, RemoteRefusal, Snapshot};
pub use visit::{Visit, VisitId};
#[cfg(test)]
mod queue_tests;
