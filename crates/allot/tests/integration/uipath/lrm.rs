//! The UiPath dialect's lrm operations, against UiPath's definitions.
