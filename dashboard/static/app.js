// vlensq dashboard: the only script of the dashboard's own pages. It copies
// a block's text (the Vlens support ticket) to the clipboard.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var block = document.getElementById(button.dataset.copyTarget);
      var status = document.getElementById(button.dataset.copyStatus);
      if (!block) {
        return;
      }
      var text = block.textContent;
      var done = function (message) {
        button.dataset.copied = "true";
        if (status) {
          status.textContent = message;
        }
      };
      var fallback = function () {
        // Older browsers and plain-HTTP origins: select the block so that
        // Ctrl+C copies it, and try the legacy copy command.
        var range = document.createRange();
        range.selectNodeContents(block);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        var copied = false;
        try {
          copied = document.execCommand("copy");
        } catch (e) {
          copied = false;
        }
        done(copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () {
          done("Copied to the clipboard.");
        }, fallback);
      } else {
        fallback();
      }
    });
  });
});
