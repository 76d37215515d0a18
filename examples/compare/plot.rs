//! The benchmark's two pictures, as SVG: CPU per check against N for the three contenders, and
//! scrape wall time against N in the WAN lab.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 480;

/// CPU per full check (µs) against targets, one line per contender, both axes logarithmic.
pub fn cpu(path: &Path, rows: &[(usize, [f64; 3])]) {
    if rows.is_empty() {
        return;
    }
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).expect("fill");
    let max_n = rows.iter().map(|r| r.0).max().unwrap_or(1).max(10) as f64;
    let max_us = rows.iter().flat_map(|r| r.1).fold(0.0f64, f64::max) * 1e6 * 8.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "CPU per full check (DNS, 2 connects, TLS, HTTPS)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((1f64..max_n).log_scale(), (50f64..max_us).log_scale())
        .expect("chart");
    chart
        .configure_mesh()
        .x_desc("targets per scrape")
        .y_desc("µs of CPU per check")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .expect("mesh");
    let names = [
        "firepower-cloud-exporter",
        "blackbox_exporter",
        "floor (the work only)",
    ];
    let colours = [BLUE, RED, BLACK];
    for (i, (name, colour)) in names.iter().zip(colours).enumerate() {
        let points: Vec<(f64, f64)> = rows.iter().map(|r| (r.0 as f64, r.1[i] * 1e6)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .expect("line")
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )
            .expect("points");
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .expect("legend");
    root.present().expect("write svg");
}

/// Scrape wall time (s) against targets in the WAN lab, with the 10 s budget drawn in.
pub fn wan(path: &Path, rows: &[(usize, f64)], rtt: Duration) {
    if rows.is_empty() {
        return;
    }
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).expect("fill");
    let max_n = rows.iter().map(|r| r.0).max().unwrap_or(1).max(10) as f64;
    let max_s = rows.iter().map(|r| r.1).fold(10.0f64, f64::max) * 1.2;
    let caption = format!(
        "Scrape time with a {} ms round trip per exchange",
        rtt.as_millis()
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((1f64..max_n).log_scale(), 0f64..max_s)
        .expect("chart");
    chart
        .configure_mesh()
        .x_desc("targets per scrape")
        .y_desc("seconds")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .expect("mesh");
    let points: Vec<(f64, f64)> = rows.iter().map(|r| (r.0 as f64, r.1)).collect();
    chart
        .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))
        .expect("line")
        .label("firepower-cloud-exporter, one /probe of N targets")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(points.into_iter().map(|p| Circle::new(p, 3, BLUE.filled())))
        .expect("points");
    chart
        .draw_series(LineSeries::new(
            vec![(1.0, 10.0), (max_n, 10.0)],
            RED.stroke_width(1),
        ))
        .expect("budget")
        .label("the 10 s scrape budget")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .expect("legend");
    root.present().expect("write svg");
}
