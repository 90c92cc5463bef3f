extension ConsoleFiles {
    /// The tab's icon (it also spares the browser a request for `/favicon.ico`).
    static let icon = ConsoleAsset(name: "icon.svg", contentType: "image/svg+xml", text: #"""
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f3a5f"/><path d="M8 9h16v4h-6v12h-4V13H8z" fill="#fff"/></svg>
"""#)

    /// The page itself: the shell the modules fill.
    static let index = ConsoleAsset(name: "index.html", contentType: "text/html; charset=utf-8", text: #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Troupe console</title>
<link rel="icon" href="/console/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/style.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<header id="bar"></header>
<main id="view"><p class="muted">Loading…</p></main>
</body>
</html>
"""#)
}
