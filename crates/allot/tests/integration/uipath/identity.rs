//! The UiPath dialect's identity operations, against UiPath's definitions.
