//! The experiment's `index.html`: the tables and every figure on one page, self-contained
//! in the report folder (relative links only), with a check of its own — once loaded it
//! counts the figures that loaded and writes `loaded/total` on the body's `data-figures`
//! attribute, which a headless browser's dump of the page shows.

use std::fmt::Write;

use super::aggregate::{format_stat, Row, Stat, METRICS};
use super::store::Index;

/// A figure on the page: its title and the file stem (PNG shown, SVG linked).
pub struct PageFigure {
    /// Caption.
    pub title: String,
    /// File stem relative to the page (`figures/boxplot-montreal-ideal`).
    pub stem: String,
}

/// A section of the page: a heading, table rows and figures.
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Table rows (may be empty).
    pub rows: Vec<Row>,
    /// Figures.
    pub figures: Vec<PageFigure>,
}

/// `s` with HTML's special characters escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn value(stat: &Option<Stat>, digits: usize) -> String {
    format_stat(stat, digits, "&nbsp;±&nbsp;")
}

/// The page.
pub fn html(index: &Index, summary: &str, sections: &[Section]) -> String {
    let e = &index.experiment;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{name} — pilotnet-brain experiment</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em auto; max-width: 1500px; color: #222; }}\n\
         table {{ border-collapse: collapse; font-size: 13px; margin-bottom: 1em; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: right; }}\n\
         th {{ background: #f0f0f0; }} td.k {{ text-align: left; white-space: nowrap; }}\n\
         figure {{ margin: 1em 0; }} figure img {{ max-width: 100%; border: 1px solid #ddd; }}\n\
         nav a {{ margin-right: 1em; }}\n</style>\n</head>\n<body data-figures=\"pending\">\n\
         <h1>{name}</h1>\n<p>{description}</p>\n<p>{summary}</p>\n<nav>",
        name = escape(&e.name),
        description = escape(&e.description),
        summary = escape(summary),
    );
    for (i, s) in sections.iter().enumerate() {
        let _ = write!(out, "<a href=\"#s{i}\">{}</a>", escape(&s.heading));
    }
    out.push_str("</nav>\n");
    for (i, s) in sections.iter().enumerate() {
        let _ = writeln!(
            out,
            "<section id=\"s{i}\">\n<h2>{}</h2>",
            escape(&s.heading)
        );
        if !s.rows.is_empty() {
            out.push_str("<table>\n<tr><th>model</th><th>dir</th><th>condition</th><th>runs</th>");
            for m in METRICS {
                let _ = write!(out, "<th>{}</th>", escape(m.header));
            }
            out.push_str("</tr>\n");
            for r in &s.rows {
                let _ = write!(
                    out,
                    "<tr><td class=\"k\">{}</td><td class=\"k\">{}</td><td class=\"k\">{}</td><td>{}</td>",
                    escape(&r.model),
                    r.direction,
                    escape(&r.condition),
                    r.runs
                );
                for (m, v) in METRICS.iter().zip(&r.values) {
                    let _ = write!(out, "<td>{}</td>", value(v, m.digits));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        for f in &s.figures {
            let stem = escape(&f.stem);
            let _ = writeln!(
                out,
                "<figure><img class=\"figure\" src=\"{stem}.png\" alt=\"{t}\" loading=\"eager\">\
                 <figcaption>{t} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>",
                t = escape(&f.title)
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str(
        "<script>\nwindow.addEventListener('load', () => {\n\
         const figures = [...document.querySelectorAll('img.figure')];\n\
         const loaded = figures.filter(i => i.complete && i.naturalWidth > 0);\n\
         document.body.dataset.figures = loaded.length + '/' + figures.length;\n\
         const broken = figures.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));\n\
         document.body.dataset.broken = broken.join(' ');\n});\n</script>\n</body>\n</html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
