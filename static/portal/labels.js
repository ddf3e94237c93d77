// Date-range filter inputs show "From date" / "To date" as placeholders only: give each
// an accessible name that says which filter it belongs to (issue 26).
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("#changelist-filter input[placeholder]")) {
    if (input.labels.length || input.getAttribute("aria-label")) continue;
    const details = input.closest("details");
    const title = details ? details.querySelector("summary").textContent.trim() : "";
    input.setAttribute("aria-label", `${input.placeholder} (${title.replace(/^By /, "")})`);
  }
});
