"""Figures (matplotlib, non-interactive) and the self-contained HTML report."""
