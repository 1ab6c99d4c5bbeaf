// MathJax 3. Pages: pymdownx.arithmatex (generic mode) wraps formulas in .arithmatex with \( \) and \[ \].
// Notebooks (mkdocs-jupyter): Markdown cells (.jp-RenderedMarkdown) keep Jupyter's $ and $$ delimiters, and
// so do LaTeX outputs (.jp-RenderedLatex: sympy's $\displaystyle ...$, IPython.display.Math).
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"], ["$", "$"]], displayMath: [["\\[", "\\]"], ["$$", "$$"]],
         processEscapes: true, processEnvironments: true },
  // ignoreHtmlClass ".+" (not Material's ".*|"): an element with any class is skipped unless it is a
  // processHtmlClass one, and the skip is inherited; class-less children (the <p> of a notebook
  // Markdown cell) are then processed inside the math-carrying containers (and notebook headings in the navigation).
  options: { ignoreHtmlClass: ".+", processHtmlClass: "arithmatex|jp-RenderedMarkdown|jp-RenderedLatex|md-nav__link|md-ellipsis" },
};
