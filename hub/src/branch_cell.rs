//! The branch as configured now, shared by the HTTP handlers, the sign-in sessions and the
//! uplink: the ministry's centre may replace it while the hub runs (`crate::uplink::config`),
//! so readers take the current one each time instead of keeping their own.
use std::sync::{Arc, RwLock};

use crate::domain::Branch;

/// A shared, replaceable [`Branch`].
#[derive(Debug, Clone)]
pub struct BranchCell(Arc<RwLock<Arc<Branch>>>);

impl BranchCell {
    pub fn new(branch: Arc<Branch>) -> BranchCell {
        BranchCell(Arc::new(RwLock::new(branch)))
    }

    /// The branch as configured now.
    pub fn get(&self) -> Arc<Branch> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces it (readers holding the old one finish with it).
    pub fn set(&self, branch: Arc<Branch>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = branch;
    }
}
