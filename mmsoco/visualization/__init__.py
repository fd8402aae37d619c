"""Drawing helpers for looking at SoCo's data (``docs/method.md`` section 2).

Generic: an image with boxes and their ids, panels side by side. The tools
(``tools/analysis_tools/browse_views.py``) decide what to draw from a
pipeline's results; this package registers no components.
"""
from .boxes import (CUTOUT_COLOUR, UNSAMPLED_COLOUR, WHOLE_VIEW_COLOUR,
                    colour_for_id, draw_boxes, fill_squares, label, mosaic,
                    to_height, write_image)

__all__ = [
    'CUTOUT_COLOUR', 'UNSAMPLED_COLOUR', 'WHOLE_VIEW_COLOUR', 'colour_for_id',
    'draw_boxes', 'fill_squares', 'label', 'mosaic', 'to_height', 'write_image'
]
