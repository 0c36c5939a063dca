//! allot's integration tests: the real server on a random port, a real SQLite file,
//! spoken to over HTTP. One binary, because linking dominates test time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod admins;
mod allocation;
mod api_errors;
mod auth;
mod cli;
mod cluster;
mod commands;
mod console;
mod durability;
mod endpoints;
mod etags;
mod history;
mod housekeeping;
mod idempotency;
mod isolation;
mod openapi;
mod outage;
mod plans;
mod processes;
mod scim;
mod slow_clients;
mod store_errors;
mod throttle;
mod uipath;
mod vonage;
