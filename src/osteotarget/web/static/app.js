// Progressive enhancement only (the pages work without it); no inline scripts (CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Clicking a legend entry shows or hides that site's series.
  for (const legend of document.querySelectorAll("#tscore-chart .legend")) {
    const toggle = () => {
      const site = legend.getAttribute("data-site");
      const series = document.querySelector(`#tscore-chart .series[data-site="${site}"]`);
      if (series) series.classList.toggle("hidden");
      legend.setAttribute("aria-pressed", series && series.classList.contains("hidden") ? "true" : "false");
    };
    legend.addEventListener("click", toggle);
    legend.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
    });
  }
  // "Print" buttons on the report pages.
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
