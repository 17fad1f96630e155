"""Synthetic cartoons with exact ground truth: the test bed for shot detection and timing analysis.

:func:`generate_video` renders flat-colour, outlined cartoon shots (characters animated on ones, twos,
threes, mixed or limited timing, long holds, pans, captions, impact flashes and hard cases such as flash
shots, split screens, boiling backgrounds, explosions and same-palette cuts), joins them with cuts, fades
and dissolves, optionally adds film grain and gate weave, encodes h264 mp4 with PyAV and writes the truth
(shots, transitions, per-frame new-drawing flags, holds, text boxes, pans) beside it as JSON.

Opt-in (``SynthOptions(stress=True)``, ``toonset synth --stress``): the in-shot cases detectors get wrong
on real footage, none of them a cut, listed in the truth's ``events``: dark full-frame occlusion sweeps,
impact runs mixing plain frames with speed lines over the scene, lighting changes, fire, smear frames and a
shot moving smoothly on ones. ``mono``, ``flicker`` and ``bars`` show the same video as a black-and-white
film between pillarbox or letterbox bars. Without them every seed gives exactly the video it always gave.
For example ``generate_set(folder, 12, seed, SynthOptions(stress=True, mono=True, bars="pillarbox"))``.
"""

from toonset.synth.generate import generate_set, generate_video
from toonset.synth.options import SynthOptions

__all__ = ["SynthOptions", "generate_set", "generate_video"]
