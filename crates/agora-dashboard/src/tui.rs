//! The full-screen dashboard (ratatui): a head (title, status, totals), the sites, défis,
//! themes or national program in the middle, the live feed below, the keys at the bottom.
//! Columns are as wide as their header and their widest cell, and only free text (a site's
//! name, a question, a theme, a program line's title) gives way, ending with "…": from 80×24
//! up no header is cut and no line wraps.

use std::io;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::{DefaultTerminal, Frame};
use tokio::sync::watch;

use agora_proto::v1::LinkState;

use crate::board::{Board, ChallengeRow, Connection, When};
use crate::client::{Shared, with};
use crate::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Panel {
    Sites,
    Challenges,
    Themes,
    Program,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Fill,
    Site,
    Theme,
}

/// What the user chose to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) panel: Panel,
    pub(crate) sort: Sort,
    /// Index into the sorted site ids (None: all).
    pub(crate) site: Option<usize>,
    pub(crate) theme: Option<usize>,
    /// First row shown of the panel's table (kept in range when drawn).
    pub(crate) scroll: usize,
}

impl Default for View {
    fn default() -> Self {
        View {
            panel: Panel::Sites,
            sort: Sort::Fill,
            site: None,
            theme: None,
            scroll: 0,
        }
    }
}

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Continue,
    Quit,
}

/// Runs the full-screen UI until the user quits or `stop` turns true.
pub fn run(board: &Shared, lang: Lang, stop: &watch::Receiver<bool>) -> io::Result<()> {
    let mut terminal = ratatui::init();
    let result = ui_loop(&mut terminal, board, lang, stop);
    ratatui::restore();
    result
}

fn ui_loop(
    terminal: &mut DefaultTerminal,
    board: &Shared,
    lang: Lang,
    stop: &watch::Receiver<bool>,
) -> io::Result<()> {
    let mut view = View::default();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let snapshot = with(board, |b| b.clone());
        let now_ms = crate::now_ms();
        terminal.draw(|f| draw(f, &snapshot, lang, &mut view, now_ms))?;
        if event::poll(Duration::from_millis(250))?
            && let Event::Key(k) = event::read()?
            && k.kind == KeyEventKind::Press
            && on_key(
                &mut view,
                k,
                snapshot.sites.len(),
                snapshot.theme_labels.len(),
            ) == Step::Quit
        {
            return Ok(());
        }
    }
}

/// Applies a key press to the view. In raw mode the terminal sends no SIGINT: Ctrl-C arrives
/// here as a key, and quits like `q`.
pub(crate) fn on_key(v: &mut View, k: KeyEvent, sites: usize, themes: usize) -> Step {
    const PAGE: usize = 10;
    match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => return Step::Quit,
        KeyCode::Char('q') | KeyCode::Esc => return Step::Quit,
        KeyCode::Tab => {
            v.panel = match v.panel {
                Panel::Sites => Panel::Challenges,
                Panel::Challenges => Panel::Themes,
                Panel::Themes => Panel::Program,
                Panel::Program => Panel::Sites,
            };
            v.scroll = 0;
        }
        KeyCode::Char('o') => {
            v.sort = match v.sort {
                Sort::Fill => Sort::Site,
                Sort::Site => Sort::Theme,
                Sort::Theme => Sort::Fill,
            };
            v.scroll = 0;
        }
        KeyCode::Char('s') => {
            v.site = cycle(v.site, sites);
            v.scroll = 0;
        }
        KeyCode::Char('t') => {
            v.theme = cycle(v.theme, themes);
            v.scroll = 0;
        }
        KeyCode::Down | KeyCode::Char('j') => v.scroll = v.scroll.saturating_add(1),
        KeyCode::Up | KeyCode::Char('k') => v.scroll = v.scroll.saturating_sub(1),
        KeyCode::PageDown => v.scroll = v.scroll.saturating_add(PAGE),
        KeyCode::PageUp => v.scroll = v.scroll.saturating_sub(PAGE),
        KeyCode::Home => v.scroll = 0,
        KeyCode::End => v.scroll = usize::MAX,
        _ => {}
    }
    Step::Continue
}

fn cycle(i: Option<usize>, n: usize) -> Option<usize> {
    match i {
        None if n > 0 => Some(0),
        Some(i) if i + 1 < n => Some(i + 1),
        _ => None,
    }
}

fn link_style(l: LinkState) -> Style {
    Style::default().fg(match l {
        LinkState::Connected => Color::Green,
        LinkState::Lagging => Color::Yellow,
        _ => Color::Red,
    })
}

fn bar(fill: f64, width: usize) -> String {
    let full = (fill * width as f64).round() as usize;
    format!(
        "{}{}",
        "█".repeat(full.min(width)),
        "·".repeat(width - full.min(width))
    )
}

/// Columns a text takes on a terminal.
pub(crate) fn text_width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to `max` columns, ending with "…" when cut.
pub(crate) fn ellipsize(s: &str, max: usize) -> String {
    if text_width(s) <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    let mut buf = [0u8; 4];
    for ch in s.chars() {
        let w = text_width(ch.encode_utf8(&mut buf));
        if used + w + 1 > max {
            break;
        }
        out.push(ch);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// The parts joined with " · " as far as they fit in `max` columns; the first part is cut
/// with "…" if it alone is too long, later parts that do not fit are left out.
pub(crate) fn fit_parts(parts: &[String], max: usize) -> String {
    let mut out = String::new();
    for p in parts {
        if out.is_empty() {
            out = ellipsize(p, max);
        } else if text_width(&out) + 3 + text_width(p) <= max {
            out.push_str(" · ");
            out.push_str(p);
        } else {
            break;
        }
    }
    out
}

/// A table to draw: its cells as text (with a style), and the one column that gives way.
struct TableSpec {
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<(String, Style)>>,
    flex: usize,
    /// Columns that keep a width whatever their cells say now (the link state's, so that the
    /// table does not shift when a site goes offline).
    min_widths: Vec<(usize, usize)>,
    /// Shown instead of an empty table.
    empty: Option<String>,
}

fn plain(s: impl Into<String>) -> (String, Style) {
    (s.into(), Style::default())
}

/// Draws the whole screen; `now_ms` says which lines of the program run now.
pub(crate) fn draw(f: &mut Frame<'_>, b: &Board, lang: Lang, v: &mut View, now_ms: i64) {
    let [head, main, feed, keys] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(6),
        Constraint::Length(8),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let width = head.width as usize;
    let status_style = match b.connection {
        Connection::Live => Style::default(),
        Connection::Connecting => Style::default().fg(Color::Yellow),
        Connection::Reconnecting { .. } => Style::default().fg(Color::Red),
    };
    f.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                ellipsize(lang.title(), width),
                Style::default().add_modifier(Modifier::BOLD),
            )),
            Line::from(Span::styled(
                fit_parts(&lang.status(b), width),
                status_style,
            )),
            Line::from(fit_parts(&lang.totals(b), width)),
        ]),
        head,
    );
    let spec = match v.panel {
        Panel::Sites => sites_table(b, lang),
        Panel::Challenges => challenges_table(b, lang, v),
        Panel::Themes => themes_table(b, lang),
        Panel::Program => program_table(b, lang, now_ms, main.width.saturating_sub(2).into()),
    };
    render_table(f, main, spec, &mut v.scroll);

    let inner = feed.width.saturating_sub(2) as usize;
    let height = feed.height.saturating_sub(2) as usize;
    let lines: Vec<Line<'_>> = b
        .feed
        .iter()
        .rev()
        .take(height)
        .rev()
        .map(|l| Line::from(ellipsize(&lang.feed_line(b, l), inner)))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(lang.feed())),
        feed,
    );
    f.render_widget(
        Paragraph::new(ellipsize(lang.keys(), keys.width as usize))
            .style(Style::default().fg(Color::DarkGray)),
        keys,
    );
}

fn sites_table(b: &Board, lang: Lang) -> TableSpec {
    let rows = b
        .sites
        .values()
        .map(|s| {
            vec![
                plain(lang.site_label(&s.name, s.partner)),
                plain(s.country.clone()),
                (lang.link(s.link).to_owned(), link_style(s.link)),
                plain(lang.lag(s.lag)),
                plain(s.participants.to_string()),
                plain(s.registrations.to_string()),
                plain(s.checked_in.to_string()),
            ]
        })
        .collect();
    TableSpec {
        title: lang.sites().to_owned(),
        headers: lang.columns_sites().to_vec(),
        rows,
        flex: 0,
        min_widths: vec![(
            2,
            [LinkState::Connected, LinkState::Lagging, LinkState::Offline]
                .map(|l| text_width(lang.link(l)))
                .into_iter()
                .max()
                .unwrap_or(0),
        )],
        empty: None,
    }
}

fn challenges_table(b: &Board, lang: Lang, v: &View) -> TableSpec {
    let site_ids: Vec<&String> = b.sites.keys().collect();
    let theme_ids: Vec<&String> = b.theme_labels.keys().collect();
    let site_filter = v.site.and_then(|i| site_ids.get(i).copied());
    let theme_filter = v.theme.and_then(|i| theme_ids.get(i).copied());
    let mut list: Vec<&ChallengeRow> = b
        .challenges
        .values()
        .filter(|c| site_filter.is_none_or(|s| &c.site == s))
        .filter(|c| theme_filter.is_none_or(|t| c.themes.contains(t)))
        .collect();
    match v.sort {
        Sort::Fill => list.sort_by(|a, c| {
            c.fill()
                .total_cmp(&a.fill())
                .then(c.waitlisted.cmp(&a.waitlisted))
        }),
        Sort::Site => list.sort_by(|a, c| (&a.site, a.number).cmp(&(&c.site, c.number))),
        Sort::Theme => list.sort_by(|a, c| a.themes.first().cmp(&c.themes.first())),
    }
    let rows = list
        .iter()
        .map(|c| {
            vec![
                plain(b.site_name(&c.site)),
                plain(c.number.to_string()),
                plain(format!(
                    "{} {:>3}%",
                    bar(c.fill(), 8),
                    (c.fill() * 100.0).round()
                )),
                plain(c.seats_left().to_string()),
                plain(c.waitlisted.to_string()),
                plain(c.title.clone()),
            ]
        })
        .collect();
    let title = [
        lang.challenges().to_owned(),
        lang.sort(v.sort).to_owned(),
        lang.site_filter(site_filter.map(|s| b.site_name(s))),
        lang.theme_filter(
            theme_filter.map(|t| b.theme_labels.get(t).map_or(t.as_str(), |l| l.as_str())),
        ),
    ]
    .join(" · ");
    TableSpec {
        title,
        headers: lang.columns_challenges().to_vec(),
        rows,
        flex: 5,
        min_widths: Vec::new(),
        empty: Some(lang.no_match().to_owned()),
    }
}

fn themes_table(b: &Board, lang: Lang) -> TableSpec {
    let rows = b
        .theme_totals()
        .into_iter()
        .map(|(id, seats, conf, wait)| {
            let label = b.theme_labels.get(&id).cloned().unwrap_or(id);
            let demand = Style::default().fg(if conf + wait > seats {
                Color::Yellow
            } else {
                Color::Reset
            });
            vec![
                plain(label),
                plain(seats.to_string()),
                plain(conf.to_string()),
                (wait.to_string(), demand),
            ]
        })
        .collect();
    TableSpec {
        title: lang.themes().to_owned(),
        headers: lang.columns_themes().to_vec(),
        rows,
        flex: 0,
        min_widths: Vec::new(),
        empty: None,
    }
}

/// Longest room shown: a room is free text up to 80 characters, and the title is the
/// column that gives way; on a narrow screen the room gives way first (see below).
const ROOM_WIDTH: usize = 20;

/// The national program: what runs now first, then what comes next, then what is over
/// (greyed), each with its time, site, title (a mini-conference says so, with its speaker's
/// shared name) and room; then the défis of past editions the plenary shows. A failed
/// reading keeps the last program and says so in the title. `inner` is the table's width.
fn program_table(b: &Board, lang: Lang, now_ms: i64, inner: usize) -> TableSpec {
    let p = &b.program;
    let headers = lang.columns_program();
    let mut rows: Vec<Vec<(String, Style)>> = p
        .by_now(now_ms)
        .into_iter()
        .map(|(l, when)| {
            let (mark, style) = match when {
                When::Now => ("▶ ", Style::default().fg(Color::Green)),
                When::Next => ("  ", Style::default()),
                When::Past => ("  ", Style::default().fg(Color::DarkGray)),
            };
            [
                format!("{mark}{}", lang.at(l.start_ms)),
                b.site_name(&l.site).to_owned(),
                lang.program_what(l),
                l.room.clone(),
            ]
            .into_iter()
            .map(|t| (t, style))
            .collect()
        })
        .collect();
    rows.extend(p.past_challenges().map(|c| {
        vec![
            plain(format!("  {}", lang.edition(c.edition))),
            plain(b.site_name(&c.site)),
            plain(format!("{} · {}", lang.challenge(c.number), c.question)),
            plain(""),
        ]
    }));
    // The room takes at most a third of what the time and the site leave (and no more than
    // ROOM_WIDTH), so that the title keeps the most room and, down to 40 columns, no
    // header or time is cut.
    let column = |i: usize| {
        rows.iter()
            .map(|r| text_width(&r[i].0))
            .chain([text_width(headers[i])])
            .max()
            .unwrap_or(0)
    };
    let fixed = column(0) + column(1) + headers.len() - 1;
    let room_max = (inner.saturating_sub(fixed) / 3).clamp(text_width(headers[3]), ROOM_WIDTH);
    for r in &mut rows {
        r[3].0 = ellipsize(&r[3].0, room_max);
    }
    TableSpec {
        title: lang.program_title(p, now_ms),
        headers: headers.to_vec(),
        rows,
        flex: 2,
        min_widths: Vec::new(),
        empty: Some(lang.no_program(p)),
    }
}

/// Draws a table in a bordered block: fixed columns as wide as their header and widest cell,
/// the flexible one taking the rest (its cells cut with "…"), the rows from `scroll` on,
/// and "first–last/total" with arrows on the bottom border when some rows are out of view.
fn render_table(f: &mut Frame<'_>, area: Rect, spec: TableSpec, scroll: &mut usize) {
    let inner = area.width.saturating_sub(2) as usize;
    let visible = (area.height as usize).saturating_sub(3).max(1);
    let total = spec.rows.len();
    let last_start = total.saturating_sub(visible);
    *scroll = (*scroll).min(last_start);
    let mut widths: Vec<usize> = spec.headers.iter().map(|h| text_width(h)).collect();
    for row in &spec.rows {
        for (w, (text, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(text_width(text));
        }
    }
    for &(i, w) in &spec.min_widths {
        if let Some(c) = widths.get_mut(i) {
            *c = (*c).max(w);
        }
    }
    let spacing = spec.headers.len().saturating_sub(1);
    let fixed: usize = widths
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != spec.flex)
        .map(|(_, w)| *w)
        .sum();
    let flex_min = text_width(spec.headers[spec.flex]);
    widths[spec.flex] = inner
        .saturating_sub(fixed + spacing)
        .max(flex_min)
        .min(widths[spec.flex]);
    let flex_width = widths[spec.flex];

    let mut block = Block::bordered().title(ellipsize(&spec.title, inner));
    if total > visible {
        let arrows = if *scroll == 0 {
            "↓"
        } else if *scroll == last_start {
            "↑"
        } else {
            "↑↓"
        };
        let shown = (*scroll + visible).min(total);
        block = block.title_bottom(
            Line::from(format!("{}–{shown}/{total} {arrows}", *scroll + 1)).right_aligned(),
        );
    }
    let header =
        Row::new(spec.headers.clone()).style(Style::default().add_modifier(Modifier::BOLD));
    if total == 0
        && let Some(message) = spec.empty
    {
        let [head_area, text_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(block.inner(area));
        f.render_widget(block, area);
        f.render_widget(
            Table::new(Vec::<Row<'_>>::new(), constraints(&widths)).header(header),
            head_area,
        );
        f.render_widget(
            Paragraph::new(ellipsize(&message, inner)).style(Style::default().fg(Color::Yellow)),
            text_area,
        );
        return;
    }
    let rows = spec
        .rows
        .into_iter()
        .skip(*scroll)
        .take(visible)
        .map(|row| {
            Row::new(row.into_iter().enumerate().map(|(i, (text, style))| {
                let text = if i == spec.flex {
                    ellipsize(&text, flex_width)
                } else {
                    text
                };
                Cell::from(text).style(style)
            }))
        });
    f.render_widget(
        Table::new(rows, constraints(&widths))
            .header(header)
            .block(block),
        area,
    );
}

fn constraints(widths: &[usize]) -> Vec<Constraint> {
    widths
        .iter()
        .map(|w| Constraint::Length(u16::try_from(*w).unwrap_or(u16::MAX)))
        .collect()
}

#[cfg(test)]
mod tests;
