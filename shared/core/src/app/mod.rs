//! The use cases: what senders, approvers, recipients, operators and the workflow's tasks
//! do, each over the domain's records through the store and the ports. Shared steps live
//! in one place each (`notify` for what people are told, `followups` for the outbox,
//! `jobs` for what is scheduled), which the use cases call and which call none of them.

pub mod accounts;
pub mod address;
pub mod answers;
pub mod audit;
pub mod contract;
pub mod documents;
pub mod domains;
pub mod evidence;
pub mod followups;
pub mod housekeeping;
pub mod jobs;
pub mod listing;
pub mod mail;
pub mod mailed;
pub mod notify;
pub mod ops;
pub mod pages;
pub mod parties;
pub mod recipients;
pub mod reminders;
pub mod scheduled;
pub mod tasks;
pub mod teams;
pub mod two_factor;
pub mod uploads;
pub mod verification;
