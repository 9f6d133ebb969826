//! The whole suite passes with every scenario on its own tenant of one shared mock IdP (the run mode for
//! a provider that many tests share), not only with a server per scenario.

use mock_idp_harness::RunOptions;

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_on_tenants_of_one_shared_provider() {
    let options = RunOptions {
        shared_provider: true,
        junit: None,
        cucumber_json: None,
        quiet: true,
        ..support::reference_options()
    };
    let report = mock_idp_harness::run(options)
        .await
        .expect("the features run");
    let failed: Vec<_> = report.scenarios.iter().filter(|s| !s.passed()).collect();
    assert!(
        report.scenarios.len() >= 130,
        "only {} scenarios ran",
        report.scenarios.len()
    );
    assert!(
        failed.is_empty(),
        "failed on a shared provider: {failed:#?}"
    );
}
