//! The UiPath dialect's lease operations, against UiPath's definitions.
