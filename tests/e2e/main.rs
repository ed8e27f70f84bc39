//! End to end over HTTP: each test starts its own server (port 0, fresh data dir).

mod accounts;
mod audit;
mod authority;
mod aws;
mod aws_shape;
mod client_api;
mod contract_tasks;
mod crash;
mod documents;
mod drafts;
mod edge;
mod evidence;
mod functions;
mod guards;
mod hostile;
mod housekeeping;
mod limits;
mod matrix;
mod pages;
mod process;
mod revocation;
mod teams;
mod two_factor;
mod verify;
mod web;
mod workflow;
