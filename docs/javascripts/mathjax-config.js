// MathJax 3. Pages: pymdownx.arithmatex (generic mode) wraps formulas in .arithmatex with \( \) and \[ \].
// Notebooks (mkdocs-jupyter): Markdown cells (.jp-RenderedMarkdown) keep Jupyter's $ and $$ delimiters.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"], ["$", "$"]], displayMath: [["\\[", "\\]"], ["$$", "$$"]],
         processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex|jp-RenderedMarkdown" },
};
