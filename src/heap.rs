//! The live heap, for measuring what the exporter keeps per target. Only with the `heap-stats`
//! feature (`scripts/bench` builds it): the system allocator is wrapped by one that counts, and
//! `/metrics` then serves `firepower_cloud_heap_allocated_bytes`. Without the feature nothing
//! changes: the plain system allocator, no series.

#[cfg(feature = "heap-stats")]
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes allocated and not yet freed, when the `heap-stats` feature counts them.
pub(crate) fn allocated() -> Option<usize> {
    #[cfg(feature = "heap-stats")]
    {
        Some(ALLOCATOR.allocated())
    }
    #[cfg(not(feature = "heap-stats"))]
    {
        None
    }
}
