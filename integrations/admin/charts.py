"""Bar charts as inline SVG, drawn on the server: no chart library, no CDN, works offline.

Colours come from CSS classes (static/portal/admin.css) built on the admin's own
variables, so the charts follow its light and dark themes.
"""

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT = 720, 184
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 44, 36, 8


def bar_chart(
    title: str,
    labels: list[str],
    series: list[tuple[str, str, list]],
    *,
    x_label: str = "",
    y_label: str = "",
) -> str:
    """Grouped bars: ``series`` is (name, css class, one value per label) each; the axes
    are named by ``x_label`` (under the ticks) and ``y_label`` (beside the top value)."""
    top = max([float(value) for _, _, values in series for value in values] + [0])
    scale = top if top > 0 else 1
    plot_w, plot_h = WIDTH - MARGIN_LEFT, HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1)
    bars, ticks = [], []
    every = max(1, len(labels) // 10)  # at most ~10 axis labels
    for index, label in enumerate(labels):
        x0 = MARGIN_LEFT + index * slot + slot * 0.1
        for position, (name, css, values) in enumerate(series):
            value = float(values[index])
            height = plot_h * value / scale
            bars.append(
                (
                    css,
                    round(x0 + position * bar_w, 1),
                    round(MARGIN_TOP + plot_h - height, 1),
                    round(bar_w - 1, 1),
                    round(height, 1),
                    f"{label} {name}: {values[index]}",
                )
            )
        if index % every == 0:
            ticks.append((round(x0, 1), HEIGHT - 20, label[-5:]))
    # Gridlines at each quarter of the top value, labelled, so a bar's value reads
    # without hovering it.
    grid = [
        (
            MARGIN_LEFT,
            round(MARGIN_TOP + plot_h * (1 - quarter / 4), 1),
            WIDTH,
            round(MARGIN_TOP + plot_h * (1 - quarter / 4), 1),
        )
        for quarter in (1, 2, 3)
    ]
    # The top quarter's label would sit on the axis name: its line is enough.
    grid_labels = [
        (0, round(MARGIN_TOP + plot_h * (1 - quarter / 4) + 3, 1), _short(top * quarter / 4))
        for quarter in (1, 2)
        if top > 0
    ]
    legend = format_html_join(
        " ", '<span class="chart-key {}">■</span> {}', ((css, name) for name, css, _ in series)
    )
    return format_html(
        '<figure class="chart"><figcaption>{} <span class="chart-legend">{}</span></figcaption>'
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}'
        '<text class="chart-axis" x="0" y="{}">{}</text>'
        '<text class="chart-axis chart-axis-name" x="0" y="{}">{}</text>'
        '<text class="chart-axis chart-axis-name" x="{}" y="{}" text-anchor="middle">{}</text>'
        '<line class="chart-base" x1="{}" y1="{}" x2="{}" y2="{}"></line>{}{}</svg></figure>',
        title,
        legend,
        WIDTH,
        HEIGHT,
        title,
        format_html_join(
            "", '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"></line>', grid
        ),
        format_html_join("", '<text class="chart-axis" x="{}" y="{}">{}</text>', grid_labels),
        MARGIN_TOP + 10,
        _short(top),
        MARGIN_TOP + 24,
        y_label,
        MARGIN_LEFT + plot_w / 2,
        HEIGHT - 4,
        x_label,
        MARGIN_LEFT,
        MARGIN_TOP + plot_h,
        WIDTH,
        MARGIN_TOP + plot_h,
        format_html_join(
            "",
            '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            bars,
        ),
        format_html_join("", '<text class="chart-axis" x="{}" y="{}">{}</text>', ticks),
    )


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    if value >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{round(value, 1 if value >= 10 else 2):g}"
