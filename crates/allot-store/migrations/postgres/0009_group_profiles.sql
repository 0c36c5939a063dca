-- An identity provider's record of a group (SCIM's externalId and times): the JSON of
-- allot_core::GroupProfile, or NULL for a group no identity provider provisioned.
ALTER TABLE groups ADD COLUMN profile TEXT;
