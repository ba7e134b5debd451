//! The full-screen dashboard (ratatui): sites, défis or themes on top, the live feed below.

use std::io;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::{DefaultTerminal, Frame};
use tokio::sync::watch;

use agora_proto::v1::LinkState;

use crate::board::{Board, ChallengeRow};
use crate::client::{Shared, with};
use crate::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Sites,
    Challenges,
    Themes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Fill,
    Site,
    Theme,
}

struct View {
    panel: Panel,
    sort: Sort,
    /// Index into the sorted site ids (None: all).
    site: Option<usize>,
    theme: Option<usize>,
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
    let mut view = View {
        panel: Panel::Sites,
        sort: Sort::Fill,
        site: None,
        theme: None,
    };
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let snapshot = with(board, |b| b.clone());
        terminal.draw(|f| draw(f, &snapshot, lang, &view))?;
        if event::poll(Duration::from_millis(250))?
            && let Event::Key(k) = event::read()?
            && k.kind == KeyEventKind::Press
        {
            match k.code {
                KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                KeyCode::Tab => {
                    view.panel = match view.panel {
                        Panel::Sites => Panel::Challenges,
                        Panel::Challenges => Panel::Themes,
                        Panel::Themes => Panel::Sites,
                    }
                }
                KeyCode::Char('o') => {
                    view.sort = match view.sort {
                        Sort::Fill => Sort::Site,
                        Sort::Site => Sort::Theme,
                        Sort::Theme => Sort::Fill,
                    }
                }
                KeyCode::Char('s') => view.site = cycle(view.site, snapshot.sites.len()),
                KeyCode::Char('t') => view.theme = cycle(view.theme, snapshot.theme_labels.len()),
                _ => {}
            }
        }
    }
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

fn draw(f: &mut Frame<'_>, b: &Board, lang: Lang, v: &View) {
    let [head, main, feed, keys] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(6),
        Constraint::Length(8),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let mut status = lang.connection(b.connection);
    if b.resumes > 0 {
        status = format!("{status} · {}", lang.resumed(b.resumes));
    }
    f.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                lang.title(),
                Style::default().add_modifier(Modifier::BOLD),
            )),
            Line::from(format!("{status} · {}", lang.summary(b))),
        ])
        .wrap(ratatui::widgets::Wrap { trim: true }),
        head,
    );
    let site_ids: Vec<&String> = b.sites.keys().collect();
    let theme_ids: Vec<&String> = b.theme_labels.keys().collect();
    let site_filter = v.site.and_then(|i| site_ids.get(i).copied());
    let theme_filter = v.theme.and_then(|i| theme_ids.get(i).copied());
    match v.panel {
        Panel::Sites => {
            let rows = b.sites.values().map(|s| {
                let name = if s.partner {
                    format!("{} ({})", s.name, lang.partner())
                } else {
                    s.name.clone()
                };
                Row::new(vec![
                    Cell::from(name),
                    Cell::from(s.country.clone()),
                    Cell::from(lang.link(s.link)).style(link_style(s.link)),
                    Cell::from(s.lag.to_string()),
                    Cell::from(s.participants.to_string()),
                    Cell::from(s.registrations.to_string()),
                    Cell::from(s.checked_in.to_string()),
                ])
            });
            let widths = [
                Constraint::Min(16),
                Constraint::Length(4),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Length(8),
            ];
            f.render_widget(
                Table::new(rows, widths)
                    .header(
                        Row::new(lang.columns_sites())
                            .style(Style::default().add_modifier(Modifier::BOLD)),
                    )
                    .block(Block::default().borders(Borders::ALL).title(lang.sites())),
                main,
            );
        }
        Panel::Challenges => {
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
            let rows = list.iter().map(|c| {
                Row::new(vec![
                    Cell::from(b.site_name(&c.site).to_owned()),
                    Cell::from(c.number.to_string()),
                    Cell::from(format!(
                        "{} {:>3}%",
                        bar(c.fill(), 8),
                        (c.fill() * 100.0).round()
                    )),
                    Cell::from(c.seats_left().to_string()),
                    Cell::from(c.waitlisted.to_string()),
                    Cell::from(c.title.clone()),
                ])
            });
            let widths = [
                Constraint::Length(10),
                Constraint::Length(4),
                Constraint::Length(14),
                Constraint::Length(6),
                Constraint::Length(7),
                Constraint::Min(10),
            ];
            let title = format!(
                "{} · {} · {} · {}",
                lang.challenges(),
                lang.sort(v.sort),
                site_filter.map_or(lang.all(), |s| b.site_name(s)),
                theme_filter.map_or(lang.all(), |t| b
                    .theme_labels
                    .get(t)
                    .map_or(t.as_str(), |l| l.as_str())),
            );
            f.render_widget(
                Table::new(rows, widths)
                    .header(
                        Row::new(lang.columns_challenges())
                            .style(Style::default().add_modifier(Modifier::BOLD)),
                    )
                    .block(Block::default().borders(Borders::ALL).title(title)),
                main,
            );
        }
        Panel::Themes => {
            let rows = b.theme_totals().into_iter().map(|(id, seats, conf, wait)| {
                let label = b.theme_labels.get(&id).cloned().unwrap_or(id);
                let demand = Style::default().fg(if conf + wait > seats {
                    Color::Yellow
                } else {
                    Color::Reset
                });
                Row::new(vec![
                    Cell::from(label),
                    Cell::from(seats.to_string()),
                    Cell::from(conf.to_string()),
                    Cell::from(wait.to_string()).style(demand),
                ])
            });
            let widths = [
                Constraint::Min(20),
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Length(11),
            ];
            f.render_widget(
                Table::new(rows, widths)
                    .header(
                        Row::new(lang.columns_themes())
                            .style(Style::default().add_modifier(Modifier::BOLD)),
                    )
                    .block(Block::default().borders(Borders::ALL).title(lang.themes())),
                main,
            );
        }
    }
    let height = feed.height.saturating_sub(2) as usize;
    let lines: Vec<Line<'_>> = b
        .feed
        .iter()
        .rev()
        .take(height)
        .rev()
        .map(|l| {
            let mut s = format!("{} · {}", b.site_name(&l.site), lang.kind(&l.kind));
            if let Some(n) = l.challenge {
                s.push_str(" · ");
                s.push_str(&lang.challenge(n));
            }
            Line::from(s)
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(lang.feed())),
        feed,
    );
    f.render_widget(
        Paragraph::new(lang.keys()).style(Style::default().fg(Color::DarkGray)),
        keys,
    );
}
