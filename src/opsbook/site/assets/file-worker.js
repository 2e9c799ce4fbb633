/* opsbook: search on a site opened from disk (file://).
 *
 * Browsers refuse to start a Web Worker from a file: URL, and the site's search runs in a
 * worker. When the page itself was opened from a file: URL, this replaces `Worker` with a
 * stand-in that runs the worker script inside a hidden, same-origin iframe and passes
 * messages both ways. Over http(s) it does nothing.
 */
(function () {
  "use strict";
  if (typeof window === "undefined" || window.location.protocol !== "file:") {
    return;
  }

  function loadScript(doc, src) {
    return new Promise(function (resolve, reject) {
      var script = doc.createElement("script");
      script.src = src;
      script.onload = function () { resolve(); };
      script.onerror = function () { reject(new Error("cannot load " + src)); };
      (doc.head || doc.documentElement).appendChild(script);
    });
  }

  function FrameWorker(url) {
    var worker = this;
    var listeners = { message: [], error: [] };
    var queue = [];
    var ready = false;
    var frame = document.createElement("iframe");
    frame.setAttribute("aria-hidden", "true");
    frame.setAttribute("tabindex", "-1");
    frame.style.display = "none";
    (document.body || document.documentElement).appendChild(frame);
    var scope = frame.contentWindow;
    var doc = frame.contentDocument;

    function emit(type, event) {
      var handler = worker["on" + type];
      if (typeof handler === "function") { handler.call(worker, event); }
      listeners[type].slice().forEach(function (fn) { fn.call(worker, event); });
    }

    // What the worker script calls as globals inside the frame.
    scope.postMessage = function (data) {
      setTimeout(function () { emit("message", new MessageEvent("message", { data: data })); }, 0);
    };
    scope.importScripts = function () {
      var urls = Array.prototype.slice.call(arguments);
      return urls.reduce(function (chain, src) {
        return chain.then(function () { return loadScript(doc, new URL(src, document.baseURI).href); });
      }, Promise.resolve());
    };

    function deliver(data) {
      scope.dispatchEvent(new scope.MessageEvent("message", { data: data }));
    }

    loadScript(doc, new URL(String(url), document.baseURI).href).then(function () {
      ready = true;
      queue.splice(0).forEach(deliver);
    }, function (error) {
      emit("error", new ErrorEvent("error", { message: error.message, error: error }));
    });

    this.onmessage = null;
    this.onerror = null;
    this.postMessage = function (data) {
      if (ready) { deliver(data); } else { queue.push(data); }
    };
    this.addEventListener = function (type, fn) {
      if (listeners[type]) { listeners[type].push(fn); }
    };
    this.removeEventListener = function (type, fn) {
      if (listeners[type]) { listeners[type] = listeners[type].filter(function (f) { return f !== fn; }); }
    };
    this.terminate = function () {
      if (frame.parentNode) { frame.parentNode.removeChild(frame); }
    };
  }

  window.Worker = FrameWorker;
})();
