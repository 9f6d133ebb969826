//! The HTML pages every front renders (login, errors, logout, form_post), compiled into the binary.

/// The HTML templates, compiled into the binary and parsed once per process: they are constants, and every
/// tenant shares them (creating a tenant does not re-parse them).
pub(crate) fn templates() -> std::sync::Arc<minijinja::Environment<'static>> {
    static PARSED: std::sync::OnceLock<std::sync::Arc<minijinja::Environment<'static>>> =
        std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| std::sync::Arc::new(parse_templates()))
        .clone()
}

fn parse_templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // Names end in .html, so minijinja's default auto-escape applies to every value.
    for (name, source) in [
        ("login.html", include_str!("../templates/login.html")),
        ("error.html", include_str!("../templates/error.html")),
        (
            "logged_out.html",
            include_str!("../templates/logged_out.html"),
        ),
        (
            "form_post.html",
            include_str!("../templates/form_post.html"),
        ),
    ] {
        if let Err(e) = env.add_template(name, source) {
            // The templates are part of the binary and rendered by tests, so this is a build defect.
            panic!("template {name}: {e}");
        }
    }
    env
}
