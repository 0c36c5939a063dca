//! The vendor dialects allot speaks. Each parses its vendor's shapes, calls the same
//! planner as the native API, and formats its vendor's answers: no SQL, no rules of its own.

pub mod uipath;
pub mod vonage;
