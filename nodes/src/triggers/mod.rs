//! Triggers: the nodes a workflow starts at, passing on the items of the event that started it.

mod event_trigger;
mod manual_trigger;
mod schedule_trigger;
mod webhook_trigger;
