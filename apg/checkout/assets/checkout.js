/* checkout.js: progressive enhancement of the hosted checkout page
   (apg/checkout/templates/checkout/page.html). Without it the page still works: the form posts
   and the server answers 303 back to the page; a <noscript> refresh reloads it while waiting.

   With it: the pay form is sent by fetch (Accept: application/json) and the page switches to
   "waiting" at once; the status URL is polled while the state is open or waiting (a Paybill or
   QR payment may complete an open session) and each state's <section data-section="…"> is shown
   by toggling `hidden`, focus moving to its heading so screen readers announce it.

   Configuration, all on <main id="checkout">: data-state, data-status-url, data-success-url,
   data-poll-interval, data-poll-slow-interval, data-poll-slow-after, data-redirect-delay (ms).
   No framework; ES2017 without later library calls (no Promise#finally, no URLSearchParams);
   no inline code anywhere (the page's CSP allows only this file). */
(function () {
  "use strict";

  var root = document.getElementById("checkout");
  if (!root || !root.dataset || !root.dataset.statusUrl || !window.fetch) {
    return; // an old browser, or a page (closed.html) with nothing to poll: plain HTML it is
  }

  function number(value, fallback) {
    var parsed = parseInt(value, 10);
    return parsed > 0 ? parsed : fallback;
  }

  var config = {
    statusUrl: root.dataset.statusUrl,
    successUrl: root.dataset.successUrl || "",
    fast: number(root.dataset.pollInterval, 2000),
    slow: number(root.dataset.pollSlowInterval, 5000),
    slowAfter: number(root.dataset.pollSlowAfter, 60000),
    redirectDelay: number(root.dataset.redirectDelay, 3000),
    requestTimeout: 20000, // a slow network's answer is still worth waiting for, not forever
  };

  // The section that shows each state: "completed" looks like "succeeded", and a link that
  // vanished while open reads as expired (both: go back to the merchant).
  var SECTION = {
    open: "open",
    waiting: "waiting",
    succeeded: "succeeded",
    completed: "succeeded",
    expired: "expired",
    not_found: "expired",
  };
  var POLLED = ["open", "waiting"];
  var TEXT = {
    sending: "Sending a payment prompt to your phone…",
    waiting: "Prompt sent. Waiting for you to enter your PIN.",
    paid: "Payment received.",
    expired: "This payment link has expired.",
    notSent: "We could not send the prompt. Check your connection and try again.",
    reconnecting: "Reconnecting…",
    copied: "Copied.",
  };

  function byId(id) {
    return document.getElementById(id);
  }

  var form = byId("pay-form");
  var phone = byId("phone");
  var button = byId("pay-button");
  var phoneError = byId("phone-error");
  var openMessage = byId("open-message");
  var waitingMessage = byId("waiting-message");
  var receiptLine = byId("receipt-line");
  var receiptNumber = byId("receipt-number");
  var returnLink = byId("return-link");
  var redirectNote = byId("redirect-note");
  var fallbacks = byId("fallbacks");
  var cancel = byId("cancel");
  var live = byId("live-status");

  var state = root.dataset.state || "open";
  var timer = 0;
  var pollingSince = Date.now();
  var submitting = false;
  var submitFailed = false; // the last POST got no answer: an "open" status then means "not sent"
  var failures = 0;
  var redirecting = false;

  // Sets an element's text and hides it when empty; leaves it alone when unchanged, so a
  // role="alert" is not announced again on every poll.
  function setText(element, text) {
    if (!element) {
      return;
    }
    text = text || "";
    if (element.textContent !== text) {
      element.textContent = text;
    }
    element.hidden = !text;
  }

  function announce(text) {
    if (live && live.textContent !== text) {
      live.textContent = text;
    }
  }

  // Shows `next`'s section; on a change, focus goes to `focusTarget` (its heading by default).
  function showState(next, focusTarget) {
    var section = SECTION[next];
    var changed = next !== state;
    var sections = root.querySelectorAll("[data-section]");
    for (var i = 0; i < sections.length; i += 1) {
      sections[i].hidden = sections[i].getAttribute("data-section") !== section;
    }
    if (fallbacks) {
      fallbacks.hidden = POLLED.indexOf(next) < 0;
    }
    if (cancel) {
      cancel.hidden = next === "succeeded" || next === "completed";
    }
    state = next;
    root.setAttribute("data-state", next);
    if (changed || focusTarget) {
      var target = focusTarget || byId(section + "-title");
      if (target && typeof target.focus === "function") {
        target.focus();
      }
    }
    return changed;
  }

  function setFieldError(text) {
    if (!phone) {
      return;
    }
    if (text) {
      phoneError.textContent = "";
      var prefix = document.createElement("span");
      prefix.className = "visually-hidden";
      prefix.textContent = "Error: ";
      phoneError.appendChild(prefix);
      phoneError.appendChild(document.createTextNode(text));
      phoneError.hidden = false;
      phone.setAttribute("aria-invalid", "true");
      phone.setAttribute("aria-describedby", "phone-error phone-hint");
    } else if (phoneError) {
      phoneError.textContent = "";
      phoneError.hidden = true;
      phone.removeAttribute("aria-invalid");
      phone.setAttribute("aria-describedby", "phone-hint");
    }
  }

  function enableForm(retry) {
    if (button) {
      button.disabled = false;
      var label = retry ? button.dataset.labelRetry : button.dataset.labelPay;
      if (label && button.textContent !== label) {
        button.textContent = label;
      }
    }
  }

  function safeUrl(url) {
    if (!url) {
      return "";
    }
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : "";
    } catch (error) {
      return "";
    }
  }

  function redirectSoon(url) {
    var target = safeUrl(url) || safeUrl(config.successUrl);
    if (redirecting || !target) {
      return;
    }
    redirecting = true;
    if (returnLink) {
      returnLink.href = target;
    }
    if (redirectNote) {
      redirectNote.hidden = false;
    }
    window.setTimeout(function () {
      window.location.assign(target);
    }, config.redirectDelay);
  }

  // Applies a status document ({state, message, receipt, retry, redirect_url}) to the page.
  function apply(status) {
    if (!status || !Object.prototype.hasOwnProperty.call(SECTION, status.state)) {
      return; // not a status, or a state this script does not know yet: keep what is shown
    }
    var next = status.state;
    var message = typeof status.message === "string" ? status.message : "";
    if (next === "open") {
      var failure = message || (submitFailed ? TEXT.notSent : "");
      setText(openMessage, failure);
      enableForm(Boolean(status.retry) || Boolean(failure));
      if (showState("open")) {
        announce("");
      }
    } else if (next === "waiting") {
      submitFailed = false;
      setText(waitingMessage, message);
      if (showState("waiting")) {
        announce(TEXT.waiting);
      }
    } else if (next === "succeeded" || next === "completed") {
      setText(receiptNumber, typeof status.receipt === "string" ? status.receipt : "");
      if (receiptLine) {
        receiptLine.hidden = !status.receipt;
      }
      showState(next);
      announce(TEXT.paid + (redirectNote ? " " + redirectNote.textContent : ""));
      redirectSoon(status.redirect_url);
    } else {
      showState(next);
      announce(TEXT.expired);
    }
  }

  // fetch with a timeout; resolves to {status, ok, body} (body: parsed JSON or null), rejects
  // only when no answer came (offline, timed out).
  function request(url, options) {
    var controller = window.AbortController ? new window.AbortController() : null;
    var init = Object.assign(
      { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } },
      options || {}
    );
    if (controller) {
      init.signal = controller.signal;
    }
    var timeout = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, config.requestTimeout);
    function done() {
      window.clearTimeout(timeout);
    }
    return window.fetch(url, init).then(function (response) {
      return response.json().then(
        function (body) {
          done();
          return { status: response.status, ok: response.ok, body: body };
        },
        function () {
          done();
          return { status: response.status, ok: response.ok, body: null };
        }
      );
    }, function (error) {
      done();
      throw error;
    });
  }

  // The form as application/x-www-form-urlencoded, the way the browser would post it (so any
  // hidden field the server adds travels too).
  function encodeForm(element) {
    var parts = [];
    Array.prototype.forEach.call(element.elements, function (field) {
      var checkable = field.type === "checkbox" || field.type === "radio";
      var sent = field.name && !field.disabled && field.tagName !== "BUTTON";
      if (sent && (!checkable || field.checked)) {
        parts.push(encodeURIComponent(field.name) + "=" + encodeURIComponent(field.value));
      }
    });
    return parts.join("&");
  }

  function connectionLost(lost) {
    if (lost) {
      failures += 1;
      if (failures >= 2) {
        announce(TEXT.reconnecting); // one slow answer is normal on a mobile network
      }
    } else {
      failures = 0;
      if (live && live.textContent === TEXT.reconnecting) {
        announce("");
      }
    }
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    if (POLLED.indexOf(state) < 0) {
      return; // a final state: nothing will change any more
    }
    if (delay === undefined) {
      var late = Date.now() - pollingSince > config.slowAfter;
      delay = late || document.hidden ? config.slow : config.fast;
    }
    timer = window.setTimeout(poll, delay);
  }

  async function poll() {
    if (submitting) {
      schedule(); // the pay request's own answer comes first
      return;
    }
    try {
      var answer = await request(config.statusUrl);
      if (answer.body && typeof answer.body.state === "string") {
        connectionLost(false);
        apply(answer.body);
      } else {
        connectionLost(true); // a 5xx or a proxy's page: the same as no answer
      }
    } catch (error) {
      connectionLost(true);
    }
    schedule();
  }

  function errorOf(body) {
    return body && body.error && typeof body.error.message === "string" ? body.error : null;
  }

  async function submit(event) {
    event.preventDefault();
    if (submitting) {
      return;
    }
    submitting = true;
    submitFailed = false;
    setFieldError("");
    setText(openMessage, "");
    setText(waitingMessage, "");
    if (button) {
      button.disabled = true;
    }
    showState("waiting");
    announce(TEXT.sending);
    pollingSince = Date.now();
    var answer = null;
    try {
      answer = await request(form.action, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        },
        body: encodeForm(form),
      });
    } catch (error) {
      answer = null;
    }
    submitting = false;
    var problem = answer && answer.status === 400 ? errorOf(answer.body) : null;
    if (problem) {
      announce("");
      if (!problem.param || problem.param === "phone") {
        setFieldError(problem.message);
        enableForm(false);
        showState("open", phone);
      } else {
        setText(openMessage, problem.message);
        enableForm(false);
        showState("open");
      }
    } else if (answer && answer.ok && answer.body && typeof answer.body.state === "string") {
      apply(answer.body);
    } else if (!answer || answer.status !== 409) {
      submitFailed = true; // no answer (or a 5xx): the status says whether a prompt went out
    } // 409: an attempt is in flight or the session closed; the status tells which
    schedule(0);
  }

  function enableCopyButtons() {
    if (!navigator.clipboard || !window.isSecureContext) {
      return; // the numbers stay selectable with one tap (user-select: all)
    }
    var buttons = root.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (copyButton) {
      var label = copyButton.firstChild;
      copyButton.hidden = false;
      copyButton.addEventListener("click", function () {
        navigator.clipboard.writeText(copyButton.getAttribute("data-copy") || "").then(
          function () {
            if (label && label.nodeType === 3) {
              label.nodeValue = "Copied";
              window.setTimeout(function () {
                label.nodeValue = "Copy";
              }, 2000);
            }
            announce(TEXT.copied);
          },
          function () {} // refused: the reader can still select and copy the number
        );
      });
    });
  }

  if (form && phone) {
    form.addEventListener("submit", submit);
  }
  enableCopyButtons();
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      schedule(0); // back from the M-Pesa app: show the outcome at once
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      schedule(0); // restored from the back/forward cache with its timers gone
    }
  });

  if (state === "succeeded" || state === "completed") {
    redirectSoon(config.successUrl);
  } else {
    schedule();
  }
})();
