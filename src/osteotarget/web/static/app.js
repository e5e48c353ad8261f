// Clicking a legend entry shows or hides that site's series (no network, no framework).
document.addEventListener("DOMContentLoaded", () => {
  for (const legend of document.querySelectorAll("#tscore-chart .legend")) {
    const toggle = () => {
      const site = legend.getAttribute("data-site");
      const series = document.querySelector(`#tscore-chart .series[data-site="${site}"]`);
      if (series) series.classList.toggle("hidden");
      legend.setAttribute("aria-pressed", series && series.classList.contains("hidden") ? "true" : "false");
    };
    legend.addEventListener("click", toggle);
    legend.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") toggle(); });
  }
});
