//! SQS adapter of the queue ports. Batches go out as one `SendMessageBatch` request (split further
//! only when the entries together exceed SQS's request size); the `Failed` list of the response
//! is turned into per-entry failures that [`switchboard_core::ports::send_batch`] retries.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry};
use switchboard_core::ports::{
    EntryFailure, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, QueueMessage, QueueReceiver, QueueSender, ReceiveOptions,
    ReceivedMessage, StoreError,
};

use crate::LazyClient;
use crate::error::backend;

/// One SQS queue, by URL.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: LazyClient<Client>,
    url: String,
}

impl SqsQueue {
    /// Uses the queue at `url` through `client` (built already, or on its first use).
    pub fn new(client: impl Into<LazyClient<Client>>, url: impl Into<String>) -> Self {
        Self { client: client.into(), url: url.into() }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one request; returns the indexes (into `entries`) SQS reported in `Failed`.
    async fn send_request(&self, entries: &[(usize, &QueueMessage)]) -> Result<Vec<EntryFailure>, StoreError> {
        let mut request = self.client.send_message_batch().queue_url(&self.url);
        for (index, message) in entries {
            request = request.entries(entry(*index, message)?);
        }
        let output = request.send().await.map_err(|e| backend("sending queue messages", e))?;
        failures_from(&output)
    }
}

/// The batch entry for `message`, whose entry id is its index in the caller's list.
fn entry(index: usize, message: &QueueMessage) -> Result<SendMessageBatchRequestEntry, StoreError> {
    let mut entry = SendMessageBatchRequestEntry::builder().id(index.to_string()).message_body(&message.body);
    for (name, value) in &message.attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| StoreError::Invalid(format!("message attribute `{name}`: {e}")))?;
        entry = entry.message_attributes(name, value);
    }
    entry.build().map_err(|e| StoreError::Invalid(format!("queue entry: {e}")))
}

/// Reads SQS's `Failed` list back into entry failures (entry ids are indexes).
fn failures_from(output: &SendMessageBatchOutput) -> Result<Vec<EntryFailure>, StoreError> {
    output
        .failed()
        .iter()
        .map(|failed| {
            let index = failed.id().parse().map_err(|_| {
                StoreError::backend("sending queue messages", format!("unknown entry id `{}`", failed.id()))
            })?;
            let reason = match failed.message() {
                Some(message) => format!("{}: {message}", failed.code()),
                None => failed.code().to_owned(),
            };
            Ok(EntryFailure { index, reason, sender_fault: failed.sender_fault() })
        })
        .collect()
}

/// Groups entries into requests whose summed size stays within SQS's per-request limit.
fn requests_by_size<'a>(entries: &[(usize, &'a QueueMessage)]) -> Vec<Vec<(usize, &'a QueueMessage)>> {
    let mut requests: Vec<Vec<(usize, &QueueMessage)>> = Vec::new();
    let mut size = 0;
    for &(index, message) in entries {
        let entry_size = message.size_bytes();
        match requests.last_mut() {
            Some(current) if size + entry_size <= MAX_MESSAGE_BYTES => current.push((index, message)),
            _ => {
                requests.push(vec![(index, message)]);
                size = 0;
            }
        }
        size += entry_size;
    }
    requests
}

fn whole_seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

#[async_trait]
impl QueueSender for SqsQueue {
    async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        if entries.len() > MAX_BATCH_ENTRIES {
            return Err(StoreError::Invalid(format!("a batch holds at most {MAX_BATCH_ENTRIES} messages")));
        }
        // An oversized entry would make SQS reject the whole request: report it alone instead.
        let (fitting, oversized): (Vec<_>, Vec<_>) =
            entries.iter().enumerate().partition(|(_, m)| m.size_bytes() <= MAX_MESSAGE_BYTES);
        let mut failures: Vec<EntryFailure> = oversized
            .into_iter()
            .map(|(index, _)| EntryFailure {
                index,
                reason: format!("message is larger than {MAX_MESSAGE_BYTES} bytes"),
                sender_fault: true,
            })
            .collect();
        for request in requests_by_size(&fitting) {
            failures.extend(self.send_request(&request).await?);
        }
        Ok(failures)
    }
}

#[async_trait]
impl QueueReceiver for SqsQueue {
    async fn receive(&self, options: ReceiveOptions) -> Result<Vec<ReceivedMessage>, StoreError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(i32::try_from(options.max_messages.clamp(1, 10)).unwrap_or(10))
            .visibility_timeout(whole_seconds(options.visibility_timeout))
            .wait_time_seconds(whole_seconds(options.wait).min(20))
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| backend("receiving queue messages", e))?;
        output
            .messages()
            .iter()
            .map(|m| {
                let missing = |what: &str| StoreError::Corrupt(format!("SQS returned a message without {what}"));
                let attributes: BTreeMap<String, String> = m
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v.string_value().map(|v| (k.clone(), v.to_owned())))
                    .collect();
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(ReceivedMessage {
                    message_id: m.message_id().ok_or_else(|| missing("an id"))?.to_owned(),
                    receipt: m.receipt_handle().ok_or_else(|| missing("a receipt handle"))?.to_owned(),
                    receive_count,
                    message: QueueMessage { body: m.body().unwrap_or_default().to_owned(), attributes },
                })
            })
            .collect()
    }

    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| backend("acknowledging a queue message", e))?;
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), StoreError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(delay))
            .send()
            .await
            .map_err(|e| backend("changing a queue message's visibility", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};

    use super::*;

    #[test]
    fn the_failed_list_of_a_batch_response_becomes_entry_failures() {
        let output = SendMessageBatchOutput::builder()
            .successful(
                SendMessageBatchResultEntry::builder()
                    .id("0")
                    .message_id("m0")
                    .md5_of_message_body("x")
                    .build()
                    .unwrap(),
            )
            .failed(
                BatchResultErrorEntry::builder()
                    .id("1")
                    .sender_fault(false)
                    .code("InternalError")
                    .message("try again")
                    .build()
                    .unwrap(),
            )
            .failed(
                BatchResultErrorEntry::builder()
                    .id("2")
                    .sender_fault(true)
                    .code("InvalidMessageContents")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let failures = failures_from(&output).unwrap();
        assert_eq!(failures.len(), 2);
        assert_eq!((failures[0].index, failures[0].sender_fault), (1, false));
        assert_eq!(failures[0].reason, "InternalError: try again");
        assert_eq!((failures[1].index, failures[1].sender_fault), (2, true));
    }

    #[test]
    fn entries_that_together_exceed_the_request_limit_go_in_several_requests() {
        let big = QueueMessage::new("x".repeat(MAX_MESSAGE_BYTES / 2 + 1));
        let small = QueueMessage::new("y");
        let entries: Vec<(usize, &QueueMessage)> = vec![(0, &big), (1, &big), (2, &small), (3, &big)];
        let sizes: Vec<Vec<usize>> =
            requests_by_size(&entries).iter().map(|r| r.iter().map(|(i, _)| *i).collect()).collect();
        assert_eq!(sizes, [vec![0], vec![1, 2], vec![3]]);
    }
}
