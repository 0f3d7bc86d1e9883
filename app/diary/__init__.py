"""民情日记: grid workers' visit diary. Importing the package registers its reaction to issues
(an entry escalated into an issue follows it when the issue is closed or reopened)."""

from app.diary import reactions as reactions
