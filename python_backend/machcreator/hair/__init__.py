"""Strand grooms (Mach's strand hair): scalp hair, eyebrows, eyelashes and facial hair.

The paper generates hairstyles offline, labels them (type, length, curl) and lets the prompt pick
one. Here a named style library (core/hair_styles.py) is grown procedurally on the template head: a scalp
with a shapeable hairline and blue-noise roots (scalp.py), guide strands from style fields and
child strands interpolated from them with clumping and curl, kept out of the body (growth.py),
a melanin colour model (melanin.py), face grooms (face_grooms.py) and hair cards for glTF viewers (cards.py).
"""
