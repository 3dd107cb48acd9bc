//! What a signal tells about a reference key (`PROJ-123`, `octo/repo#12`) in its context packet
//! (`GET /projects/{p}/context/{key}`): which group it belongs to ([`ContextKind`], by
//! [`classify`]) and whether it is the tracker item that *is* the key ([`is_item`]).
//!
//! Signal types are written `<noun>_<verb>` (`pr_opened`, `build_failed`, `issue_commented`), so
//! the noun (the text before the first `_`, or the whole type) names what the signal is about and
//! decides the group through one table ([`classify`]). Two nouns mean different things in
//! different tools and take the connector's catalogue category into account: `component` is a
//! status-page component (an incident) for a code-and-devops connector and a chat UI component
//! (a conversation) elsewhere. A noun outside the table (`commented`, `changed`) falls back on the
//! category: project management → issues, communication → conversations, documents → documents,
//! code and devops → code changes, anything else (or a source with no descriptor, such as
//! Switchboard's own `connector_health`) → other.

use serde::{Deserialize, Serialize};

use crate::model::ConnectorCategory;
use crate::signal::NormalisedSignal;

/// The group a related signal is shown in. [`ContextKind::ALL`] is the order of the groups in a
/// packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextKind {
    /// Tracker items: other issues, cards and tickets that mention the key, and the item's
    /// earlier changes (comments, transitions).
    Issues,
    /// Pull and merge requests, pushes, commits, reviews.
    CodeChanges,
    /// CI builds, pipelines, deployments, quality gates.
    Builds,
    /// Incidents, alerts, monitors, errors, vulnerabilities, degraded components.
    Incidents,
    /// Chat messages, mentions, reactions, e-mail, support conversations.
    Conversations,
    /// Wiki pages, documents, databases.
    Documents,
    /// Calendar meetings, calls and their recordings.
    Meetings,
    /// Anything else (deals, orders, payments, connector health).
    Other,
}

impl ContextKind {
    /// Every kind, in the order a packet lists its groups.
    pub const ALL: [Self; 8] = [
        Self::Issues,
        Self::CodeChanges,
        Self::Builds,
        Self::Incidents,
        Self::Conversations,
        Self::Documents,
        Self::Meetings,
        Self::Other,
    ];

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issues => "issues",
            Self::CodeChanges => "code_changes",
            Self::Builds => "builds",
            Self::Incidents => "incidents",
            Self::Conversations => "conversations",
            Self::Documents => "documents",
            Self::Meetings => "meetings",
            Self::Other => "other",
        }
    }

    /// A heading for people (`Code changes`).
    pub fn title(self) -> &'static str {
        match self {
            Self::Issues => "Issues",
            Self::CodeChanges => "Code changes",
            Self::Builds => "Builds",
            Self::Incidents => "Incidents",
            Self::Conversations => "Conversations",
            Self::Documents => "Documents",
            Self::Meetings => "Meetings",
            Self::Other => "Other",
        }
    }
}

/// The nouns of signal types and their kind. `component` is not here: it depends on the category.
const NOUNS: &[(ContextKind, &[&str])] = &[
    (ContextKind::Issues, &["issue", "card", "ticket", "task", "story", "epic", "cycle", "todo"]),
    (ContextKind::CodeChanges, &["pr", "mr", "push", "commit", "branch", "tag", "review", "merge"]),
    (
        ContextKind::Builds,
        &["build", "pipeline", "deployment", "deploy", "job", "workflow", "check", "quality", "release"],
    ),
    (ContextKind::Incidents, &["incident", "alert", "monitor", "error", "vulnerability", "outage"]),
    (
        ContextKind::Conversations,
        &["message", "mention", "reaction", "email", "conversation", "comment", "thread", "chat", "command", "modal"],
    ),
    (ContextKind::Documents, &["page", "document", "database", "file", "feedback", "wiki"]),
    (ContextKind::Meetings, &["meeting", "recording", "call", "webinar"]),
];

/// The group of a signal of `signal_type` from a connector of `category` (`None`: the source has
/// no descriptor). See the module documentation for the rule.
pub fn classify(category: Option<ConnectorCategory>, signal_type: &str) -> ContextKind {
    let noun = signal_type.split('_').next().unwrap_or(signal_type);
    if noun == "component" {
        return match category {
            Some(ConnectorCategory::CodeAndDevops) => ContextKind::Incidents,
            _ => ContextKind::Conversations,
        };
    }
    if let Some((kind, _)) = NOUNS.iter().find(|(_, nouns)| nouns.contains(&noun)) {
        return *kind;
    }
    match category {
        Some(ConnectorCategory::ProjectManagement) => ContextKind::Issues,
        Some(ConnectorCategory::Communication) => ContextKind::Conversations,
        Some(ConnectorCategory::Documents) => ContextKind::Documents,
        Some(ConnectorCategory::CodeAndDevops) => ContextKind::CodeChanges,
        Some(ConnectorCategory::Custom) | None => ContextKind::Other,
    }
}

/// Whether `signal` (of group `kind`) is the tracker item that is `key`: it is an
/// [`ContextKind::Issues`] signal and either its first related item is `key` (trackers list their
/// own key first: Jira, Linear, GitHub Issues) or, for a tracker that does not, its external id is
/// `key`. A build of branch `PROJ-123-fix` or a message starting with `PROJ-123` lists the key
/// first too, but is no issue, so it is never the item.
pub fn is_item(signal: &NormalisedSignal, kind: ContextKind, key: &str) -> bool {
    kind == ContextKind::Issues
        && (signal.related_items.first().is_some_and(|first| first == key) || signal.external_id == key)
}

#[cfg(test)]
mod tests {
    use super::ContextKind::*;
    use super::*;
    use crate::model::ConnectorCategory as C;

    /// Every signal type of the built-in descriptors and the natives (Jira, Outlook, SES), with
    /// its connector's category and the group it must land in.
    const BUILT_INS: &[(C, &[&str], ContextKind)] = &[
        (C::ProjectManagement, &["issue_created", "issue_transitioned", "issue_updated", "issue_assigned"], Issues),
        (C::ProjectManagement, &["issue_commented", "cycle_changed", "card_commented", "card_created"], Issues),
        (C::ProjectManagement, &["card_moved", "commented"], Issues),
        (C::ProjectManagement, &["message_received"], Conversations),
        (C::ProjectManagement, &["page_updated"], Documents),
        (C::CodeAndDevops, &["issue_created", "issue_updated", "issue_commented", "issue_closed"], Issues),
        (C::CodeAndDevops, &["issue_reopened"], Issues),
        (
            C::CodeAndDevops,
            &["pr_opened", "pr_merged", "pr_closed", "pr_reviewed", "pr_updated", "pr_reopened"],
            CodeChanges,
        ),
        (C::CodeAndDevops, &["pr_ready_for_review", "pr_review_comment", "pr_review_requested"], CodeChanges),
        (C::CodeAndDevops, &["pr_synchronized", "mr_opened", "mr_merged", "mr_closed", "mr_reopened"], CodeChanges),
        (C::CodeAndDevops, &["mr_updated", "changed", "commented"], CodeChanges),
        (C::CodeAndDevops, &["build_started", "build_succeeded", "build_failed", "build_canceled"], Builds),
        (C::CodeAndDevops, &["quality_gate_failed", "quality_gate_passed"], Builds),
        (C::CodeAndDevops, &["monitor_triggered", "monitor_resolved", "alert_triggered", "alert_resolved"], Incidents),
        (C::CodeAndDevops, &["alert_acknowledged", "incident_triggered", "incident_resolved"], Incidents),
        (
            C::CodeAndDevops,
            &["incident_acknowledged", "incident_updated", "error_created", "error_resolved"],
            Incidents,
        ),
        (C::CodeAndDevops, &["error_occurred", "error_reactivated", "error_recurring"], Incidents),
        (C::CodeAndDevops, &["vulnerability_found", "vulnerability_resolved"], Incidents),
        (C::CodeAndDevops, &["component_degraded", "component_maintenance", "component_recovered"], Incidents),
        (C::Communication, &["incident_triggered", "incident_resolved"], Incidents),
        (C::Communication, &["message_received", "message_edited", "mention", "reaction"], Conversations),
        (C::Communication, &["email_received", "email_sent", "email_flagged"], Conversations),
        (C::Communication, &["conversation_created", "conversation_assigned", "conversation_closed"], Conversations),
        (
            C::Communication,
            &["conversation_replied", "command_invoked", "component_used", "modal_submitted"],
            Conversations,
        ),
        (C::Communication, &["meeting_updated", "meeting_cancelled", "meeting_started", "meeting_ended"], Meetings),
        (C::Communication, &["recording_ready"], Meetings),
        (C::Documents, &["page_updated", "page_commented", "database_updated", "feedback_received"], Documents),
        (C::Documents, &["document_created", "document_updated"], Documents),
        (C::Custom, &["ticket_created", "ticket_updated", "ticket_assigned", "ticket_transitioned"], Issues),
        (C::Custom, &["deal_created", "deal_updated", "deal_stage_changed", "order_created", "order_updated"], Other),
        (
            C::Custom,
            &["order_canceled", "payment_failed", "payout_failed", "company_created", "company_updated"],
            Other,
        ),
        (
            C::Custom,
            &["contact_created", "contact_updated", "dispute_opened", "dispute_updated", "refund_created"],
            Other,
        ),
        (C::Custom, &["fraud_warning", "subscription_created", "subscription_canceled"], Other),
    ];

    #[test]
    fn every_built_in_signal_type_lands_in_its_group() {
        for (category, types, kind) in BUILT_INS {
            for signal_type in *types {
                assert_eq!(classify(Some(*category), signal_type), *kind, "{signal_type} of a {category:?} connector");
            }
        }
    }

    /// The table above is complete: a built-in descriptor that gains a signal type must say here
    /// which group it belongs to.
    #[test]
    fn the_table_lists_every_signal_type_of_the_built_in_descriptors() {
        for descriptor in crate::builtin::built_in_descriptors().unwrap() {
            let category = descriptor.model().category;
            for signal_type in crate::catalogue_table::signal_types(&descriptor) {
                let listed =
                    BUILT_INS.iter().any(|(c, types, _)| *c == category && types.contains(&signal_type.as_str()));
                assert!(listed, "{}: {signal_type} ({category:?}) is not in BUILT_INS", descriptor.id());
            }
        }
    }

    #[test]
    fn an_unknown_noun_falls_back_on_the_category() {
        assert_eq!(classify(Some(C::ProjectManagement), "updated"), Issues);
        assert_eq!(classify(Some(C::Communication), "posted"), Conversations);
        assert_eq!(classify(Some(C::Documents), "edited"), Documents);
        assert_eq!(classify(Some(C::CodeAndDevops), "changed"), CodeChanges);
        assert_eq!(classify(Some(C::Custom), "changed"), Other);
        assert_eq!(classify(None, "connector_health"), Other);
        // The noun decides before the category does.
        assert_eq!(classify(None, "build_failed"), Builds);
        assert_eq!(classify(Some(C::Custom), "meeting_started"), Meetings);
    }

    #[test]
    fn component_is_an_incident_only_for_a_code_and_devops_connector() {
        assert_eq!(classify(Some(C::CodeAndDevops), "component_degraded"), Incidents);
        assert_eq!(classify(Some(C::Communication), "component_used"), Conversations);
        assert_eq!(classify(None, "component_used"), Conversations);
    }

    fn signal(external_id: &str, related: &[&str]) -> NormalisedSignal {
        serde_json::from_value(serde_json::json!({
            "id": "s", "source": "jira", "projectId": "p", "externalId": external_id, "signalType": "issue_updated",
            "timestamp": "2025-01-01T00:00:00Z", "receivedAt": "2025-01-01T00:00:00Z", "summary": "s",
            "ingestion": "webhook", "relatedItems": related
        }))
        .unwrap()
    }

    #[test]
    fn the_item_is_an_issue_whose_first_related_item_or_external_id_is_the_key() {
        assert!(is_item(&signal("10001#100", &["PROJ-123", "PROJ-7"]), Issues, "PROJ-123"));
        assert!(is_item(&signal("PROJ-123", &[]), Issues, "PROJ-123"));
        // Another issue that mentions the key.
        assert!(!is_item(&signal("10002", &["PROJ-124", "PROJ-123"]), Issues, "PROJ-123"));
        // A build or a message naming the key first is no issue.
        assert!(!is_item(&signal("run-1", &["PROJ-123"]), Builds, "PROJ-123"));
        assert!(!is_item(&signal("Ev1", &["PROJ-123"]), Conversations, "PROJ-123"));
        // Keys are compared exactly.
        assert!(!is_item(&signal("1", &["proj-123"]), Issues, "PROJ-123"));
    }

    #[test]
    fn kinds_serialise_as_their_names() {
        for kind in ContextKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
