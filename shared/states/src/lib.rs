//! keiyaku-states: an embedded interpreter of Amazon States Language, so the local shape
//! runs the same `statemachines/*.asl.json` files Step Functions runs on AWS.
//!
//! Hand-written because no Rust crate runs ASL (the ones that exist build definitions or
//! call the AWS API), and the emulators that do (Step Functions Local, LocalStack) are Java
//! or Python services, which the single-process local shape cannot embed.
//!
//! The engine is sans-IO: [`Definition::parse`] checks a file and refuses, by JSON path,
//! anything not implemented; [`Execution::start`] and [`Execution::handle`] take inputs,
//! the current time and a [`TokenSource`] for task tokens, and return [`Effect`]s. A driver
//! persists the serializable [`Execution`] after each call (without its history, which it
//! takes with [`Execution::take_history`] and stores as it grows) and performs the effects,
//! which gives durability and "wake on events and timers, never poll" without the engine
//! knowing about either. [`Definition::sha256_hex`] identifies the definition an execution
//! was started under.
//! `SUPPORTED.md` lists what is implemented.

pub mod definition;
pub mod engine;
pub mod errors;
pub mod history;
pub mod intrinsics;
pub mod jsonata;
pub mod path;
pub mod rng;
pub mod supported;
pub mod tokens;

pub use definition::{Definition, DefinitionError, Integration};
pub use engine::{
    ChildEvent, Effect, Execution, HandleError, Input, Invocation, MAX_PAYLOAD_BYTES, Start,
    StartError, Status, TaskId, TaskRef, Timer, TimerId,
};
pub use errors::Failure;
pub use history::{EventType, HistoryEvent};
pub use tokens::{SeededTokens, TOKEN_BYTES, TokenSource};
