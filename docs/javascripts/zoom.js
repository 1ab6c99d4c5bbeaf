// Click to enlarge: every figure on a page that is not itself a link (the reproduced figures, the reports' figures, the notebooks'
// plots) opens in an overlay at the size of the window; a click on the enlarged figure shows it at its
// full size (scroll to move around), a click beside it, the close button or Escape closes it. No library,
// nothing fetched: the overlay shows the image the page already loaded.
(function () {
  "use strict";
  var overlay = null;

  function close() {
    if (overlay) {
      overlay.remove();
      overlay = null;
      document.documentElement.classList.remove("droplab-zoom-open");
    }
  }

  function open(img) {
    close();
    overlay = document.createElement("div");
    overlay.className = "droplab-zoom";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Enlarged figure (Escape closes)");
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt || "";
    var bar = document.createElement("div");
    bar.className = "droplab-zoom__bar";
    var hint = document.createElement("span");
    hint.textContent = "Click the figure for its full size; Escape or a click beside it closes.";
    bar.appendChild(hint);
    if (!big.src.startsWith("data:")) {
      var file = document.createElement("a");
      file.href = big.src;
      file.textContent = "open the image file";
      file.target = "_blank";
      bar.appendChild(file);
    }
    var shut = document.createElement("button");
    shut.type = "button";
    shut.textContent = "close";
    shut.addEventListener("click", close);
    bar.appendChild(shut);
    overlay.appendChild(bar);
    overlay.appendChild(big);
    overlay.addEventListener("click", function (event) {
      if (event.target === big) {
        overlay.classList.toggle("droplab-zoom--full");
      } else if (event.target === overlay) {
        close();
      }
    });
    document.body.appendChild(overlay);
    document.documentElement.classList.add("droplab-zoom-open");
  }

  document.addEventListener("click", function (event) {
    var img = event.target.closest && event.target.closest(".md-content img");
    // an image inside a link (a gallery thumbnail) follows its link
    if (!img || img.closest("a, .droplab-zoom") || event.button !== 0 || event.ctrlKey || event.metaKey) {
      return;
    }
    event.preventDefault();
    open(img);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      close();
    }
  });
})();
