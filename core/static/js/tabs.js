// On a phone the tab bar is one row that scrolls sideways (app.css): bring the current
// tab into view, so a page far along the row still shows where the person is.
for (const nav of document.querySelectorAll("nav.tabs")) {
  const current = nav.querySelector("[aria-current]");
  if (current && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
  }
}
