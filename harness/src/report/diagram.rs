//! The sequence diagram of one scenario: inline SVG, four lifelines (Browser, Frontend, Backend, Provider)
//! and one numbered arrow per [`Exchange`], with its answer as a dashed return arrow.
//!
//! Every exchange is one `<g class="ex">` (plus `bad` when the answer is 4xx, 5xx or none), so a test can
//! count the arrows. Colours come from the page's stylesheet (the SVG is inline), which keeps each diagram
//! small. All text is escaped with [`escape`].

use std::fmt::Write as _;

use crate::trace::{Exchange, Lane, mask};

/// Where a well-known request sits in the authorization code flow: the diagram puts `badge` beside a
/// request that matches, and `answer_badge` beside its answer when that is a success (2xx or 3xx).
#[derive(Debug, Clone, Copy)]
pub struct FlowStep {
    /// The request's method.
    pub method: &'static str,
    /// The request's path ends with this (so a tenant prefix such as `/t/acme/token` matches too).
    pub path_suffix: &'static str,
    /// The lane answering the request.
    pub to: Lane,
    /// The badge of the request, e.g. `①`.
    pub badge: &'static str,
    /// The badge of a successful answer, if the answer is a step of its own.
    pub answer_badge: Option<&'static str>,
    /// What the step is, shown as the badge's tooltip.
    pub meaning: &'static str,
}

/// The six steps of the authorization code flow, by request; the first match wins, so longer suffixes of
/// the same lane come first. Step ⑤ (the backend's user lookup) is not HTTP: it matches a local exchange
/// on the Backend lane with method `SQL`.
pub const FLOW_STEPS: &[FlowStep] = &[
    FlowStep {
        method: "GET",
        path_suffix: "/auth/login",
        to: Lane::Backend,
        badge: "①",
        answer_badge: None,
        meaning: "① login starts: the backend redirects the browser to the provider's /authorize",
    },
    FlowStep {
        method: "GET",
        path_suffix: "/authorize",
        to: Lane::Provider,
        badge: "②",
        answer_badge: None,
        meaning: "② authorization request at the provider",
    },
    FlowStep {
        method: "POST",
        path_suffix: "/authorize/login",
        to: Lane::Provider,
        badge: "②",
        answer_badge: None,
        meaning: "② the user logs in; the provider redirects back to redirect_uri with code and state",
    },
    FlowStep {
        method: "POST",
        path_suffix: "/api/auth/callback",
        to: Lane::Backend,
        badge: "③",
        answer_badge: Some("⑥"),
        meaning: "③ the frontend hands code and state to the backend; ⑥ its answer carries the app token",
    },
    FlowStep {
        method: "GET",
        path_suffix: "/callback",
        to: Lane::Frontend,
        badge: "②",
        answer_badge: None,
        meaning: "② the browser lands on the redirect_uri page with code and state",
    },
    FlowStep {
        method: "POST",
        path_suffix: "/token",
        to: Lane::Provider,
        badge: "④",
        answer_badge: None,
        meaning: "④ the backend redeems the code at the token endpoint",
    },
    FlowStep {
        method: "GET",
        path_suffix: "/jwks",
        to: Lane::Provider,
        badge: "④",
        answer_badge: None,
        meaning: "④ the backend fetches the provider's keys to check the id_token",
    },
    FlowStep {
        method: "SQL",
        path_suffix: "",
        to: Lane::Backend,
        badge: "⑤",
        answer_badge: None,
        meaning: "⑤ the backend looks the user up by (iss, sub) in its own database",
    },
];

/// The flow step a request is, if it is a well-known one ([`FLOW_STEPS`]).
pub fn flow_step(e: &Exchange) -> Option<&'static FlowStep> {
    FLOW_STEPS.iter().find(|s| {
        s.to == e.to && s.method.eq_ignore_ascii_case(&e.method) && e.path.ends_with(s.path_suffix)
    })
}

/// Escapes text for XML/HTML content and attribute values; control characters become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The x of each lane's lifeline.
const LANE_X: [u32; 4] = [80, 250, 420, 590];
/// The diagram's width.
const WIDTH: u32 = 680;
/// Where the first arrow starts, below the lane heads.
const TOP: u32 = 58;
/// Line height of the small parameter text.
const PARAM_LINE: u32 = 11;
/// Width of a character of the parameter text, to wrap it.
const PARAM_CHAR_PX: u32 = 5;

fn x(lane: Lane) -> u32 {
    LANE_X[lane.index()]
}

/// `true` for an answer that the diagram paints red: 4xx, 5xx, or none (for an HTTP exchange).
pub fn is_bad(e: &Exchange) -> bool {
    e.status >= 400 || (e.status == 0 && e.from != e.to)
}

/// The parameters as `name=value` (masked), wrapped into lines of at most `width` characters.
fn param_lines(params: &[(String, String)], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for (name, value) in params {
        let item = cut(&format!("{name}={}", mask(name, value)), width);
        if !line.is_empty() && line.chars().count() + 2 + item.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The answer's label: status and note; "no answer" for status 0.
fn answer_label(e: &Exchange) -> String {
    let status = match e.status {
        0 => "✕ no answer".to_owned(),
        s => s.to_string(),
    };
    match &e.note {
        Some(note) => format!("{status} · {}", cut(note, 90)),
        None => status,
    }
}

/// A filled arrowhead at (`x`, `y`) pointing right (`dir` = 1) or left (`dir` = -1).
fn arrowhead(out: &mut String, x: u32, y: u32, dir: i32) {
    let x = i64::from(x);
    let y = i64::from(y);
    let back = x - 8 * i64::from(dir);
    let _ = write!(
        out,
        r#"<polygon points="{x},{y} {back},{} {back},{}"/>"#,
        y - 4,
        y + 4
    );
}

/// The inline SVG of one scenario's exchanges (in the order given); `dropped` exchanges that the trace
/// did not keep are mentioned below the last arrow.
pub fn render_svg(exchanges: &[Exchange], dropped: usize) -> String {
    let mut body = String::with_capacity(600 * exchanges.len() + 1200);
    let mut y = TOP;
    for (i, e) in exchanges.iter().enumerate() {
        let n = i + 1;
        let step = flow_step(e);
        let class = if is_bad(e) { "ex bad" } else { "ex" };
        let _ = write!(body, r#"<g class="{class}" data-n="{n}">"#);
        let badge = step.map_or(String::new(), |s| {
            format!(
                r#"<tspan class="badge">{}<title>{}</title></tspan> "#,
                s.badge,
                escape(s.meaning)
            )
        });
        let request = format!(
            "{} {}",
            escape(&cut(&e.method, 12)),
            escape(&cut(&e.path, 60))
        );
        if e.from == e.to {
            // A local step: a note box beside the lifeline.
            let lx = x(e.from) + 6;
            let mut lines = param_lines(&e.params, 44);
            if let Some(note) = &e.note {
                lines.insert(0, cut(note, 44));
            }
            let height = 18 + PARAM_LINE * u32::try_from(lines.len()).unwrap_or(0);
            let _ = write!(
                body,
                r#"<rect class="local" x="{lx}" y="{}" width="230" height="{height}" rx="3"/><text class="req" x="{}" y="{}"><tspan class="num">{n}</tspan> {badge}{request}</text>"#,
                y - 4,
                lx + 5,
                y + 9
            );
            for (j, line) in lines.iter().enumerate() {
                let ly = y + 21 + PARAM_LINE * u32::try_from(j).unwrap_or(0);
                let _ = write!(
                    body,
                    r#"<text class="prm" x="{}" y="{ly}">{}</text>"#,
                    lx + 5,
                    escape(line)
                );
            }
            body.push_str("</g>");
            y += height + 12;
            continue;
        }
        let (x1, x2) = (x(e.from), x(e.to));
        let dir: i32 = if x2 > x1 { 1 } else { -1 };
        let (left, right) = (x1.min(x2), x1.max(x2));
        // The request: number, badge, METHOD path above a solid arrow.
        let _ = write!(
            body,
            r#"<text class="req" x="{}" y="{y}"><tspan class="num">{n}</tspan> {badge}{request}</text>"#,
            left + 6
        );
        let ay = y + 6;
        let tip = if dir > 0 { x2 - 1 } else { x2 + 1 };
        let _ = write!(
            body,
            r#"<line class="arrow" x1="{x1}" y1="{ay}" x2="{tip}" y2="{ay}"/>"#
        );
        arrowhead(&mut body, tip, ay, dir);
        // The parameters, small, under the arrow.
        let width = usize::try_from((right - left) / PARAM_CHAR_PX)
            .unwrap_or(40)
            .max(40);
        let lines = param_lines(&e.params, width);
        let mut ly = ay + 13;
        for line in &lines {
            let _ = write!(
                body,
                r#"<text class="prm" x="{}" y="{ly}">{}</text>"#,
                left + 6,
                escape(line)
            );
            ly += PARAM_LINE;
        }
        // The answer: a dashed arrow back, status and note above it.
        let ry = ly + 8;
        let answer_badge = step
            .and_then(|s| s.answer_badge)
            .filter(|_| (200..400).contains(&e.status))
            .map_or(String::new(), |b| {
                format!(r#"<tspan class="badge">{b}</tspan> "#)
            });
        let _ = write!(
            body,
            r#"<text class="ans" x="{}" y="{}">{answer_badge}{}</text>"#,
            left + 6,
            ry - 3,
            escape(&answer_label(e))
        );
        let back_tip = if dir > 0 { x1 + 1 } else { x1 - 1 };
        let _ = write!(
            body,
            r#"<line class="ret" x1="{x2}" y1="{ry}" x2="{back_tip}" y2="{ry}"/>"#
        );
        arrowhead(&mut body, back_tip, ry, -dir);
        body.push_str("</g>");
        y = ry + 22;
    }
    if exchanges.is_empty() {
        let _ = write!(
            body,
            r#"<text class="prm" x="{}" y="{}">nothing went over the wire</text>"#,
            LANE_X[0] + 6,
            y + 4
        );
        y += 20;
    }
    if dropped > 0 {
        let _ = write!(
            body,
            r#"<text class="ans" x="{}" y="{y}">… and {dropped} more exchanges that the trace did not keep</text>"#,
            LANE_X[0] + 6
        );
        y += 16;
    }
    let height = y + 4;
    let mut svg = String::with_capacity(body.len() + 1200);
    let _ = write!(
        svg,
        r#"<svg class="seq" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="sequence diagram, {} exchanges">"#,
        exchanges.len()
    );
    for lane in Lane::ALL {
        let lx = x(lane);
        let _ = write!(
            svg,
            r#"<line class="life" x1="{lx}" y1="32" x2="{lx}" y2="{}"/><rect class="lane" x="{}" y="6" width="120" height="26" rx="4"/><text class="lane" x="{lx}" y="24">{}</text>"#,
            height - 2,
            lx - 60,
            lane.name()
        );
    }
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(from: Lane, to: Lane, method: &str, path: &str, status: u16) -> Exchange {
        Exchange {
            at_ms: 0,
            from,
            to,
            method: method.into(),
            path: path.into(),
            status,
            params: vec![
                ("state".into(), "st-1".into()),
                ("code".into(), "the-code".into()),
            ],
            note: Some("<b>note</b>".into()),
        }
    }

    #[test]
    fn one_group_per_exchange_and_bad_ones_marked() {
        let exchanges = [
            ex(Lane::Browser, Lane::Backend, "GET", "/auth/login", 302),
            ex(
                Lane::Frontend,
                Lane::Backend,
                "POST",
                "/api/auth/callback",
                400,
            ),
            ex(Lane::Backend, Lane::Provider, "POST", "/token", 0),
            ex(
                Lane::Backend,
                Lane::Backend,
                "SQL",
                "users by (iss, sub)",
                0,
            ),
        ];
        let svg = render_svg(&exchanges, 2);
        assert_eq!(svg.matches("<g class=\"ex").count(), 4, "{svg}");
        assert_eq!(svg.matches("<g class=\"ex bad\"").count(), 2, "{svg}");
        assert!(svg.contains("&lt;b&gt;note&lt;/b&gt;") && !svg.contains("<b>"));
        assert!(!svg.contains("the-code") && svg.contains("state=st-1"));
        assert!(svg.contains("2 more exchanges"));
        assert!(svg.contains("✕ no answer"));
    }

    #[test]
    fn well_known_paths_get_their_flow_step() {
        let badge =
            |from, to, method, path| flow_step(&ex(from, to, method, path, 200)).map(|s| s.badge);
        use Lane::*;
        assert_eq!(badge(Browser, Backend, "GET", "/auth/login"), Some("①"));
        assert_eq!(badge(Browser, Provider, "GET", "/authorize"), Some("②"));
        assert_eq!(
            badge(Browser, Provider, "POST", "/authorize/login"),
            Some("②")
        );
        assert_eq!(badge(Browser, Frontend, "GET", "/callback"), Some("②"));
        assert_eq!(
            badge(Frontend, Backend, "POST", "/api/auth/callback"),
            Some("③")
        );
        assert_eq!(badge(Backend, Provider, "POST", "/t/acme/token"), Some("④"));
        assert_eq!(badge(Backend, Backend, "SQL", "users"), Some("⑤"));
        assert_eq!(badge(Browser, Backend, "GET", "/api/me"), None);
        let svg = render_svg(
            &[ex(Frontend, Backend, "POST", "/api/auth/callback", 200)],
            0,
        );
        assert!(svg.contains("③") && svg.contains("⑥"), "{svg}");
    }

    #[test]
    fn escape_covers_markup_and_controls() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
    }
}
