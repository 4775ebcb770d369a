"""Garments, glasses, headwear, shoes and accessories: a tagged library, text matching, and
fitting to any generated body (Mach §2.5 "assets")."""
