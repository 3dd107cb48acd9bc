//! The storage contract: one generic test suite per port. Every adapter crate runs all of it
//! against its own backend with [`contract_tests!`], so SQLite and AWS behave the same.
//!
//! ```text
//! struct MyBackend;
//! #[async_trait::async_trait]
//! impl switchboard_contract_tests::Backend for MyBackend { /* fresh stores, fresh queues */ }
//! switchboard_contract_tests::contract_tests!(MyBackend);
//! ```
//! expands to one `#[tokio::test]` per contract function, named after it.

// Test helpers panic with a message on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used)]

mod backend;
pub mod fixtures;
pub mod signal_listing;
pub mod suite;

pub use backend::{Backend, QueuePair};

/// Expands to one `#[tokio::test]` per contract, each calling `$backend` (an expression that may
/// `.await`) for its own backend instance.
#[macro_export]
macro_rules! contract_tests {
    ($backend:expr) => {
        $crate::contract_tests!(@each $backend;
            registering_a_descriptor_twice_is_refused,
            descriptors_are_listed_by_id_and_updated_in_place,
            updating_a_missing_descriptor_reports_not_found,
            deleting_a_built_in_descriptor_is_refused_with_a_clear_error,
            a_user_descriptor_can_be_deleted_once,
            writing_a_built_in_descriptor_at_start_up_replaces_it_and_protects_it,
            creating_an_instance_twice_is_refused,
            creating_an_instance_of_an_unknown_connector_is_refused,
            creating_an_existing_instance_again_keeps_its_credentials,
            instances_are_listed_by_project_and_by_connector,
            updating_an_instance_changes_only_the_given_fields,
            an_instance_keeps_its_webhook_subscription_until_it_is_cleared,
            updating_or_deleting_a_missing_instance_reports_not_found,
            health_failures_count_up_and_a_success_resets_them,
            poll_runs_add_up_on_the_instance_with_its_backfill_and_reauth_flag,
            the_notified_health_state_moves_by_compare_and_set,
            new_instances_are_listed_due_per_connector_from_their_creation,
            a_poll_run_moves_only_its_own_instance_out_until_its_next_time,
            updates_move_an_instance_in_and_out_of_the_due_listing,
            a_schedule_sweep_is_recorded_per_connector,
            deleting_an_instance_removes_its_secret_and_checkpoint,
            the_first_checkpoint_advance_creates_version_one,
            advancing_from_a_stale_version_fails_and_never_moves_backwards,
            concurrent_checkpoint_advances_from_one_version_let_exactly_one_win,
            two_concurrent_lease_holders_exactly_one_wins,
            an_expired_lease_can_be_taken_over_and_the_old_holder_cannot_renew,
            a_lease_holder_can_renew_and_release,
            inserting_a_dedup_key_twice_reports_a_duplicate,
            an_expired_dedup_key_is_accepted_again,
            a_forgotten_dedup_key_is_inserted_again,
            a_confirmed_dedup_key_outlives_its_claim,
            rotating_credentials_exposes_current_and_previous,
            a_credential_write_from_a_stale_version_fails,
            a_credential_patch_racing_a_token_refresh_keeps_both_updates,
            the_previous_credentials_carry_when_they_were_replaced,
            missing_credentials_read_as_none_and_delete_is_idempotent,
            signal_counts_add_up_per_hour,
            sync_runs_are_listed_newest_first,
            signals_are_listed_newest_first_per_project,
            signals_can_be_filtered_by_since_type_and_related_item,
            signals_can_be_filtered_by_source_and_priority,
            paging_through_signals_returns_each_signal_once,
            a_sparse_filter_still_pages_through_every_match,
            expired_signals_are_hidden,
            putting_the_same_signal_twice_keeps_one_copy,
            a_garbage_next_token_is_invalid,
            a_reference_lists_its_signals_from_every_source_newest_first,
            filters_apply_together_with_a_reference,
            a_re_put_signal_leaves_the_references_it_dropped,
            a_reference_hides_expired_signals,
            a_signal_is_indexed_under_its_first_references_only,
            a_reference_listing_does_not_read_past_unrelated_signals,
            concurrent_puts_of_a_signal_leave_its_index_consistent,
            a_rate_limit_allows_limit_requests_then_refuses_for_the_rest_of_the_window,
            concurrent_acquires_never_exceed_the_limit,
            a_new_window_resets_the_count,
            an_oauth_state_is_taken_exactly_once,
            an_expired_oauth_state_is_not_returned,
            storing_an_oauth_state_twice_is_refused,
            sent_messages_arrive_with_their_attributes_and_acked_ones_do_not_return,
            a_message_received_too_often_lands_in_the_dead_letter_queue,
            a_batch_with_a_forced_partial_failure_resends_only_the_failed_entries,
            an_oversized_entry_is_rejected_alone_and_not_retried,
            a_message_put_back_for_retry_is_delivered_again,
        );
    };
    (@each $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let backend = $backend;
                $crate::suite::$name(&backend).await;
            }
        )*
    };
}
