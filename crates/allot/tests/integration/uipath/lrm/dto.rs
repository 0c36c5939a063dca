//! The License Resource Manager's answers as UiPath's definitions (`definitions/license.yaml`)
//! give them, field by field. The definitions require no field; allot answers every one.

use crate::uipath::shape::{Bool, DateTime, Int, Num, Shape, Str, array, nullable, object};

fn text() -> Shape {
    nullable(Str)
}

fn texts() -> Shape {
    nullable(array(Str))
}

fn account_feature_dto() -> Shape {
    object(vec![("code", text()), ("type", text()), ("value", text())])
}

fn consumption_distribution_dto() -> Shape {
    object(vec![("startDate", Int), ("endDate", Int), ("quantity", Int)])
}

fn account_product_dto() -> Shape {
    object(vec![
        ("code", text()),
        ("quantity", Int),
        ("type", text()),
        ("features", nullable(array(account_feature_dto()))),
        ("consumptionDistributions", nullable(array(consumption_distribution_dto()))),
    ])
}

fn template_dto() -> Shape {
    let product = object(vec![("code", text()), ("type", text())]);
    object(vec![("productCode", text()), ("products", nullable(array(product)))])
}

fn policy_dto() -> Shape {
    let requirement = object(vec![("skus", texts()), ("plans", texts()), ("level", text()), ("cloudType", text())]);
    object(vec![("name", text()), ("requirement", requirement)])
}

fn entitlement_definition_dto() -> Shape {
    let requirement = object(vec![("skus", texts()), ("plans", texts())]);
    object(vec![("name", text()), ("requirement", requirement)])
}

pub fn account_license_dto() -> Shape {
    object(vec![
        ("accountId", text()),
        ("bundleCode", text()),
        ("endDate", Int),
        ("gracePeriod", Int),
        ("licenseCode", text()),
        ("licenseStatus", text()),
        ("products", nullable(array(account_product_dto()))),
        ("templates", nullable(array(template_dto()))),
        ("policies", nullable(array(policy_dto()))),
        ("entitlements", nullable(array(entitlement_definition_dto()))),
        ("startDate", Int),
        ("subscriptionCode", text()),
        ("subscriptionPlan", text()),
        ("payload", text()),
        ("type", text()),
        ("parentLicenseCode", text()),
    ])
}

pub fn account_product_allocation_dto() -> Shape {
    object(vec![("code", text()), ("total", Int), ("allocated", Int)])
}

pub fn account_available_services_dto() -> Shape {
    object(vec![("services", texts())])
}

fn product_availability_dto() -> Shape {
    object(vec![
        ("code", text()),
        ("type", text()),
        ("availableQuantity", Int),
        ("consumedQuantity", Num),
        ("totalQuantity", Int),
    ])
}

pub fn organization_license_with_available_products() -> Shape {
    object(vec![
        ("license", account_license_dto()),
        ("productsWithAvailability", nullable(array(product_availability_dto()))),
    ])
}

fn service_feature_dto() -> Shape {
    object(vec![("code", text()), ("type", text()), ("value", text())])
}

fn distribution_interval_dto() -> Shape {
    object(vec![("startDate", Int), ("endDate", Int), ("quantity", nullable(Int))])
}

fn service_product_dto() -> Shape {
    object(vec![
        ("code", text()),
        ("quantity", Int),
        ("allocated", Int),
        ("type", text()),
        ("features", nullable(array(service_feature_dto()))),
        ("distributionIntervals", nullable(array(distribution_interval_dto()))),
    ])
}

fn license_data() -> Shape {
    object(vec![
        ("licenseCode", text()),
        ("parentLicenseCode", text()),
        ("bundleCode", text()),
        ("subscriptionCode", text()),
        ("licenseStatus", text()),
        ("startDate", Int),
        ("endDate", Int),
        ("gracePeriod", Int),
        ("products", nullable(array(service_product_dto()))),
        ("templates", nullable(array(template_dto()))),
        ("policies", nullable(array(policy_dto()))),
        ("entitlements", nullable(array(entitlement_definition_dto()))),
        ("payload", text()),
        ("boonLicenseCode", text()),
    ])
}

pub fn service_license_dto() -> Shape {
    object(vec![
        ("accountId", text()),
        ("globalId", text()),
        ("serviceScopeId", text()),
        ("serviceType", text()),
        ("license", license_data()),
        ("userLicensingEnabled", Bool),
        ("accountLicenseCode", text()),
    ])
}

pub fn service_license_status_dto() -> Shape {
    object(vec![
        ("accountId", text()),
        ("serviceScopeId", text()),
        ("serviceType", text()),
        ("subscriptionPlan", text()),
        ("licenseStatus", text()),
        ("expireDate", DateTime),
        ("userLicensingEnabled", Bool),
    ])
}

pub fn product_dto() -> Shape {
    let feature = object(vec![("code", text()), ("value", text())]);
    object(vec![("code", text()), ("quantity", Int), ("features", nullable(array(feature)))])
}

fn tenant_service_product_dto() -> Shape {
    object(vec![
        ("code", text()),
        ("type", text()),
        ("quantity", Int),
        ("allocated", Int),
        ("reserved", Int),
        ("available", Num),
        ("used", Num),
        ("allocatedAcrossOtherTenants", Num),
        ("consumedByDeletedTenants", Num),
        ("totalUnits", Num),
        ("consumedAtOrganizationLevel", Num),
    ])
}

pub fn tenant_service_license_dto() -> Shape {
    object(vec![("serviceType", text()), ("products", nullable(array(tenant_service_product_dto())))])
}
