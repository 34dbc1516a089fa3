// scimflow console: progressive enhancement only. Every page works without this script; it adds
// local times, live countdowns, the charts (Chart.js, served from this server), the refresh of a
// user's status and log while the workflow works, copy buttons and loading a draft from a file.
// Loaded as a file (the Content-Security-Policy allows no inline script).
'use strict';

(function () {
  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }

  function localTimes(root) {
    root.querySelectorAll('time[data-local]').forEach(function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) return;
      el.textContent =
        d.getFullYear() +
        '-' +
        pad(d.getMonth() + 1) +
        '-' +
        pad(d.getDate()) +
        ' ' +
        pad(d.getHours()) +
        ':' +
        pad(d.getMinutes()) +
        ':' +
        pad(d.getSeconds());
      el.title = d.toISOString();
    });
  }

  function left(seconds) {
    if (seconds <= 0) return 'due now';
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    if (d > 0) return 'in ' + d + ' d ' + h + ' h';
    if (h > 0) return 'in ' + h + ' h ' + m + ' min';
    if (m > 0) return 'in ' + m + ' min ' + s + ' s';
    return 'in ' + s + ' s';
  }

  function tickCountdowns() {
    document.querySelectorAll('[data-countdown]').forEach(function (el) {
      var until = Date.parse(el.getAttribute('data-countdown'));
      if (!isNaN(until)) el.textContent = left(Math.round((until - Date.now()) / 1000));
    });
  }

  function charts() {
    if (typeof window.Chart !== 'function') return;
    document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute('data-chart'));
      new window.Chart(canvas, {
        type: 'bar',
        data: {
          labels: spec.labels,
          datasets: spec.series.map(function (s) {
            return { label: s.label, data: s.data, backgroundColor: '#0b5cad' };
          }),
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
      // The numbers stay in the page for screen readers, out of sight.
      var table = canvas.closest('figure') && canvas.closest('figure').querySelector('.chart-table');
      if (table) table.classList.add('visually-hidden');
    });
  }

  var BUSY = ['pending', 'onboarding', 'waitingPropagation', 'scheduled', 'waitingForSeat'];

  function live() {
    var box = document.querySelector('[data-live]');
    if (!box) return;
    var url = box.getAttribute('data-live');
    var last = box.innerHTML;
    var delay = Number(box.getAttribute('data-poll-ms')) || 5000;
    function schedule() {
      setTimeout(poll, delay);
    }
    function poll() {
      if (document.hidden) return schedule();
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (res) {
          if (!res.ok || res.redirected) throw new Error('stopped');
          return res.text();
        })
        .then(function (text) {
          if (text !== last) {
            last = text;
            // Keep the reader's place: only the changed fragment is replaced.
            box.innerHTML = text;
            localTimes(box);
            tickCountdowns();
          }
          var state = box.querySelector('[data-state]');
          delay = state && BUSY.indexOf(state.getAttribute('data-state')) >= 0 ? 2000 : 10000;
          schedule();
        })
        .catch(function () {
          // Signed out or the server is gone: stop refreshing; a reload shows why.
        });
    }
    schedule();
  }

  function copyButtons() {
    document.querySelectorAll('[data-copy]').forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener('click', function () {
        var source = document.getElementById(button.getAttribute('data-copy'));
        navigator.clipboard.writeText(source ? source.textContent : '').then(function () {
          button.textContent = 'Copied';
        });
      });
    });
  }

  function fileLoaders() {
    document.querySelectorAll('input[type=file][data-load-into]').forEach(function (input) {
      input.addEventListener('change', function () {
        var file = input.files && input.files[0];
        var target = document.getElementById(input.getAttribute('data-load-into'));
        if (!file || !target) return;
        var reader = new FileReader();
        reader.onload = function () {
          target.value = String(reader.result);
          target.focus();
        };
        reader.readAsText(file);
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    localTimes(document);
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
    charts();
    live();
    copyButtons();
    fileLoaders();
  });
})();
