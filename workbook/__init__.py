"""Scalesheet's workbook layer: lays out the planning workbook (openpyxl), shares and recalculates it."""
