//! `/useradmin/users`: the documented examples of Create user, Update user by user ID, Get
//! users and Get user by user ID, replayed with the answers the pages give.

use reqwest::Method;
use serde_json::{Value, json};

use super::{V4, call, center, create_user, get_user, new_user, patch_user};
use crate::harness::{spawn_app, spawn_in};

/// The Create user page's "All parameters" example.
fn all_parameters() -> Value {
    json!({
      "username": "Supervisor_full_example",
      "name": "Supervisor",
      "email": "supervisor@vonage.com",
      "ssoExternalId": "supervisor_externalId",
      "active": true,
      "userAccountConfiguration": {
        "role": "Supervisor",
        "actAsAgent": true,
        "agentConfiguration": {
          "agentDisplayId": "1234", "webrtc": true, "agentControlWebrtc": true,
          "handleMultipleInteractions": true, "enforcedDispositionCodes": true, "transcribeCalls": true,
          "screenRecording": false, "callParking": true, "salesCadence": false, "outboundAutoanswer": true,
          "inboundAutoanswer": true, "outboundWrapUp": 200, "backToReadyAfterNoAnswer": 100,
          "backToReadyAfterLineBusy": 1000, "backToReadyAfterInvalidNumber": 300,
          "backToReadyAfterNetworkIssue": 200, "callRatingFrequency": 50, "video": true,
          "transcribeCallsRealTime": true, "callRecordingControls": true, "location": "GB",
          "telephonyAddress": {
            "telephoneAddress": "800200", "telephonyExtension": "44",
            "outboundTelephonyRegion": "b4c6e398-ac69-4135-b3fd-64d7a6d14272", "nationalDisplay": true,
            "virtualLocation": "PL", "preventAutoCallbackNumber": true,
            "selectedCallbackNumberId": "PL4c0b6793-a4c9-4075-839e-08fb99ba7efd"
          },
          "capacity": {"isAgentLevel": true, "live": 50, "nonLive": 33, "semiLive": 40},
          "associatedUsers": [{"username": "supervisor_vbc", "applicationType": "VBC"}]
        }
      }
    })
}

fn is_guid(id: &str) -> bool {
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12] && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn create_user_with_the_required_parameters_answers_201_with_the_user_and_draws_its_role_license() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:supervisor", 5)]).await;
    let body = json!({"username": "Supervisor_only_required", "name": "Supervisor",
                      "email": "supervisor@vonage.com", "userAccountConfiguration": {"role": "Supervisor"}});
    let created = create_user(&t, &c.write, "", &body).await.expect(201);
    let id = created["userId"].as_str().unwrap().to_owned();
    assert!(is_guid(&id), "{id}");
    assert_eq!(
        created,
        json!({"userId": id, "username": "Supervisor_only_required", "name": "Supervisor",
               "email": "supervisor@vonage.com", "active": true, "locked": false,
               "userAccountConfiguration": {"role": "Supervisor", "chargeable": true, "actAsAgent": false}})
    );
    assert_eq!(get_user(&t, &c.read, &id).await.expect(200), created, "Get user by user ID answers what was made");
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:supervisor").await, (5, 1));
}

#[tokio::test]
async fn create_user_with_all_parameters_keeps_the_agent_configuration_as_sent() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:supervisor", 5)]).await;
    let sent = all_parameters();
    let created = create_user(&t, &c.write, "", &sent).await.expect(201);
    let id = created["userId"].as_str().unwrap();
    assert_eq!(created["ssoExternalId"], "supervisor_externalId");
    assert_eq!(created["active"], true);
    let configuration = &created["userAccountConfiguration"];
    assert_eq!(
        (configuration["role"].clone(), configuration["actAsAgent"].clone()),
        (json!("Supervisor"), json!(true))
    );
    assert_eq!(configuration["agentConfiguration"], sent["userAccountConfiguration"]["agentConfiguration"]);
    assert_eq!(get_user(&t, &c.read, id).await.expect(200), created);
}

#[tokio::test]
async fn create_user_refuses_missing_required_fields_bad_roles_unknown_fields_and_the_read_scope() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 5)]).await;
    for missing in ["username", "name", "email"] {
        let mut body = new_user("ada", "Agent");
        body.as_object_mut().unwrap().remove(missing);
        let refused = create_user(&t, &c.write, "", &body).await;
        assert_eq!(
            (refused.status.as_u16(), refused.body["message"].clone()),
            (400, json!(format!("'{missing}' is required")))
        );
    }
    let no_role = json!({"username": "ada", "name": "Ada", "email": "ada@example.com"});
    assert_eq!(
        create_user(&t, &c.write, "", &no_role).await.expect(400)["message"],
        "'userAccountConfiguration.role' is required"
    );
    let refused = create_user(&t, &c.write, "", &new_user("ada", "Pilot")).await.expect(400);
    assert!(
        refused["message"].as_str().unwrap().contains("Valid values: Admin, Supervisor, Wallboard, Agent"),
        "{refused}"
    );
    let mut unknown = new_user("ada", "Agent");
    unknown["nickname"] = json!("A");
    assert!(
        create_user(&t, &c.write, "", &unknown).await.expect(400)["message"].as_str().unwrap().contains("nickname")
    );
    assert_eq!(create_user(&t, &c.read, "", &new_user("ada", "Agent")).await.status, 403);
    let no_version =
        call(&t, Method::POST, "/useradmin/users", Some(&c.write), None, Some(&new_user("ada", "Agent").to_string()))
            .await;
    assert_eq!(no_version.expect(400)["message"], "Version missing from Accept header!");
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (5, 0), "nothing was created");
    let listed = call(&t, Method::GET, "/useradmin/users?include=All", Some(&c.read), Some(V4), None).await.expect(200);
    assert_eq!(listed["meta"]["totalCount"], 0);
}

#[tokio::test]
async fn usernames_are_unique_in_an_account_and_unknown_users_answer_404() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 5)]).await;
    create_user(&t, &c.write, "", &new_user("ada", "Agent")).await.expect(201);
    let taken = create_user(&t, &c.write, "", &new_user("ADA", "Agent")).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (5, 1));
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(get_user(&t, &c.read, unknown).await.expect(404)["message"], format!("User '{unknown}' not found"));
    assert_eq!(patch_user(&t, &c.write, unknown, "", &json!({"name": "x"})).await.status, 404);
}

#[tokio::test]
async fn update_user_archives_with_accept_archive_in_multiple_accounts_and_merges_agent_settings() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:supervisor", 5), ("vccrole:agent", 5)]).await;
    let created = create_user(&t, &c.write, "", &all_parameters()).await.expect(201);
    let id = created["userId"].as_str().unwrap();
    // The page's one-setting example: the other settings stay.
    let setting = json!({"userAccountConfiguration": {"agentConfiguration": {"callRatingFrequencyDefault": true}}});
    let updated = patch_user(&t, &c.write, id, "", &setting).await.expect(200);
    let settings = &updated["userAccountConfiguration"]["agentConfiguration"];
    assert_eq!(
        (settings["callRatingFrequencyDefault"].clone(), settings["webrtc"].clone()),
        (json!(true), json!(true))
    );
    // The page's archive example.
    let archived = patch_user(&t, &c.write, id, "?acceptArchiveInMultipleAccounts=true", &json!({"active": false}))
        .await
        .expect(200);
    assert_eq!(archived["active"], false);
    assert_eq!(archived["userAccountConfiguration"]["role"], "Supervisor", "an archived user keeps its role");
    assert_eq!(archived["userAccountConfiguration"]["chargeable"], false);
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:supervisor").await, (5, 0), "archiving frees the role license");
    assert_eq!(get_user(&t, &c.read, id).await.expect(200), archived);
    // The page's allowOverages example: a role change, here with licenses to spare.
    let agent = patch_user(
        &t,
        &c.write,
        id,
        "?allowOverages=true",
        &json!({"active": true, "userAccountConfiguration": {"role": "Agent"}}),
    )
    .await
    .expect(200);
    assert_eq!(
        (agent["active"].clone(), agent["userAccountConfiguration"]["role"].clone()),
        (json!(true), json!("Agent"))
    );
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (5, 1));
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:supervisor").await, (5, 0));
    let bad = patch_user(&t, &c.write, id, "?allowOverages=maybe", &json!({"name": "x"})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn get_users_pages_by_limit_and_filters_active_archived_or_all() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:wallboard", 10)]).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = create_user(&t, &c.write, "", &new_user(&format!("w{n}"), "Wallboard")).await.expect(201);
        ids.push(created["userId"].as_str().unwrap().to_owned());
    }
    patch_user(&t, &c.write, &ids[0], "", &json!({"active": false})).await.expect(200);
    let list = |query: &str| {
        let path = format!("/useradmin/users{query}");
        let (t, token) = (&t, c.read.clone());
        async move { call(t, Method::GET, &path, Some(&token), Some(V4), None).await }
    };
    let first = list("").await.expect(200);
    assert_eq!(first["meta"], json!({"page": 1, "count": 4, "pageCount": 1, "totalCount": 4}), "Active by default");
    let page = list("?limit=3").await.expect(200);
    assert_eq!(page["meta"], json!({"page": 1, "count": 3, "pageCount": 2, "totalCount": 4}));
    let second = list("?page=2&limit=3").await.expect(200);
    assert_eq!(second["meta"], json!({"page": 2, "count": 1, "pageCount": 2, "totalCount": 4}));
    let mut seen: Vec<Value> = page["users"].as_array().unwrap().iter().map(|u| u["userId"].clone()).collect();
    seen.extend(second["users"].as_array().unwrap().iter().map(|u| u["userId"].clone()));
    seen.sort_by_key(|v| v.as_str().unwrap().to_owned());
    seen.dedup();
    assert_eq!(seen.len(), 4, "the pages do not overlap");
    let archived = list("?include=Archived").await.expect(200);
    assert_eq!(archived["meta"]["totalCount"], 1);
    assert_eq!(archived["users"][0]["userId"], ids[0].as_str());
    assert_eq!(list("?include=All").await.expect(200)["meta"]["totalCount"], 5);
    assert_eq!(list("?page=0&limit=3").await.expect(200)["meta"]["page"], 1, "page 0 is the first page");
    for bad in ["?limit=0", "?limit=5001", "?include=Some", "?page=x"] {
        assert_eq!(list(bad).await.status, 400, "{bad}");
    }
    assert_eq!(list("?limit=5000").await.status, 200);
}

#[tokio::test]
async fn a_user_reads_back_as_written_after_a_restart() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:supervisor", 5)]).await;
    let created = create_user(&t, &c.write, "", &all_parameters()).await.expect(201);
    let id = created["userId"].as_str().unwrap().to_owned();
    let archived = patch_user(&t, &c.write, &id, "", &json!({"active": false})).await.expect(200);
    let (dir, config) = t.stop().await;
    let t = spawn_in(dir, config).await;
    assert_eq!(
        get_user(&t, &c.read, &id).await.expect(200),
        archived,
        "the profile is stored, not only held in memory"
    );
}

#[tokio::test]
async fn a_user_made_with_the_native_api_is_answered_with_its_id_as_username_and_the_role_it_holds() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:wallboard", 2)]).await;
    let native = t.client(&c.admin);
    native.create_user("vcc", &crate::harness::member("bob")).await.unwrap();
    native.set_user_licenses("vcc", "bob", &crate::harness::licenses(&["vccrole:wallboard"])).await.unwrap();
    let bob = get_user(&t, &c.read, "bob").await.expect(200);
    assert_eq!((bob["username"].clone(), bob["active"].clone()), (json!("bob"), json!(true)));
    assert_eq!(bob["userAccountConfiguration"]["role"], "Wallboard");
    let renamed = patch_user(&t, &c.write, "bob", "", &json!({"username": "bobby"})).await.expect(200);
    assert_eq!(renamed["username"], "bobby");
    assert_eq!(renamed["userAccountConfiguration"]["role"], "Wallboard", "the role license stays");
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:wallboard").await, (2, 1));
}
